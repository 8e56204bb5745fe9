#!/usr/bin/env bash
# Makes the built-in prompts and hold music the SIP connector embeds (media.rs): speech from
# espeak-ng, music from sox's synthesiser, all as raw 8 kHz G.711 µ-law (`.ul`), the format the
# phone hears. Run once after changing a text; the outputs are committed. Needs espeak-ng and sox.
set -euo pipefail
cd "$(dirname "$0")"

say() { # name text
  espeak-ng -v en-us -s 150 -w "/tmp/prompt-$1.wav" "$2"
  sox "/tmp/prompt-$1.wav" -r 8000 -c 1 -t ul "$1.ul" norm -3
  rm -f "/tmp/prompt-$1.wav"
}

say greeting "Thank you for calling. Please hold, an agent will be with you shortly."
say menu "For sales, press 1. For support, press 2."
say position "You are number"
say closed "Thank you for calling. We are closed right now. Please leave a message after the tone, and press the pound key when you are done."
say callback "To keep your place in line and have us call you back, press 1."
say callback_booked "Thank you. We will call you back. Goodbye."
for d in 0 1 2 3 4 5 6 7 8 9; do
  words=(zero one two three four five six seven eight nine)
  say "$d" "${words[$d]}"
done

# The tone a voicemail starts after: half a second of 1 kHz.
sox -n -r 8000 -c 1 -t ul beep.ul synth 0.5 sine 1000 gain -6

# Twelve seconds of a slow arpeggio, soft enough to hold under.
notes=()
for n in C4 E4 G4 E4 A3 C4 E4 C4; do
  sox -n -r 8000 -c 1 "/tmp/note-$n-${#notes[@]}.wav" synth 1.5 pluck "$n" fade 0 1.5 1.2
  notes+=("/tmp/note-$n-${#notes[@]}.wav")
done
sox "${notes[@]}" -t ul music.ul gain -n -12
rm -f "${notes[@]}"
