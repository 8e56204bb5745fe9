// The console as the agent's phone (their device is "browser"): once the agent holds a call, the
// microphone is opened and a WebRTC offer goes to the hub over the agent's socket
// (`call.media.offer`, then `call.media.candidate` for each ICE candidate); the hub's answer
// (`call.media.answer`) connects the audio to the caller. G.711 only: the hub relays the caller's
// audio as it comes, nothing is transcoded. Keys pressed on the keypad go as `call.dtmf`: the hub
// sends them to the other party as RFC 4733 events. A supervisor listening in from the browser
// opens the same kind of leg, offered in their `call.monitor` frame with every ICE candidate in it
// (`offerFrame`). The pure parts (what a microphone error means,
// which codecs to keep, which key a key press is) are exported for tests; the rest touches the
// browser's media and network.

import { isTyping } from './shortcuts.js';

/** What went wrong opening the microphone, as the page explains it. */
export function micProblem(error) {
  const name = error && error.name;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'denied';
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') return 'no_device';
  if (name === 'NotReadableError' || name === 'TrackStartError') return 'busy';
  return 'failed';
}

/** A phone's keypad, in the order its buttons are laid out. */
export const KEYPAD = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

/**
 * The keypad key a keyboard press stands for, or null: digits, `*` and `#`, unless the agent is
 * typing in a field or holding a modifier (a shortcut, not a key for the call).
 */
export function keypadKey(event) {
  if (!event || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return null;
  return KEYPAD.includes(event.key) ? event.key : null;
}

/** Codec capabilities with G.711 (PCMU, PCMA) first and only: what the hub can relay as is. */
export function g711First(codecs) {
  const wanted = ['audio/PCMU', 'audio/PCMA'];
  return wanted.flatMap((mime) => codecs.filter((c) => c.mimeType === mime && c.clockRate === 8000));
}

/** Resolves once the connection has gathered its ICE candidates (at most `ms` later). */
function gathered(pc, ms = 3000) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const done = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, ms);
  });
}

/**
 * One call's audio in this browser.
 * - send(frame): sends a frame on the agent's socket; false when it is down
 * - onStatus(status): "connecting" | "connected" | "mic_denied" | "mic_no_device" | "mic_busy" |
 *   "mic_failed" | "failed" | "lost"
 * - offerFrame(sdp): the frame that carries the offer, once every candidate is in it; without,
 *   `call.media.offer` goes at once and the candidates follow as `call.media.candidate`
 */
export function startCall(interactionId, { send, onStatus, offerFrame = null }) {
  let pc = null;
  let stream = null;
  let audio = null;
  let stopped = false;

  function stop() {
    stopped = true;
    if (pc) pc.close();
    if (stream) stream.getTracks().forEach((track) => track.stop());
    if (audio) audio.remove();
    pc = null;
  }

  async function open() {
    onStatus('connecting');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      onStatus('mic_failed');
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    } catch (e) {
      if (!stopped) onStatus(`mic_${micProblem(e)}`);
      return;
    }
    if (stopped) {
      stream.getTracks().forEach((track) => track.stop());
      return;
    }
    pc = new RTCPeerConnection({ iceServers: [] });
    const transceiver = pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendrecv', streams: [stream] });
    if (transceiver.setCodecPreferences && window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities) {
      const g711 = g711First(RTCRtpReceiver.getCapabilities('audio').codecs);
      if (g711.length) transceiver.setCodecPreferences(g711);
    }
    audio = document.createElement('audio');
    audio.autoplay = true;
    audio.dataset.testid = 'softphone-audio';
    audio.hidden = true;
    document.body.appendChild(audio);
    pc.ontrack = (ev) => { audio.srcObject = ev.streams[0] || new MediaStream([ev.track]); };
    pc.onicecandidate = (ev) => {
      if (!offerFrame && ev.candidate && ev.candidate.candidate) {
        send({ type: 'call.media.candidate', interaction_id: interactionId, candidate: ev.candidate.candidate });
      }
    };
    pc.onconnectionstatechange = () => {
      if (!pc) return;
      const s = pc.connectionState;
      if (s === 'connected') onStatus('connected');
      else if (s === 'failed') onStatus('failed');
      else if (s === 'disconnected') onStatus('lost');
    };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (offerFrame) await gathered(pc);
    if (stopped || !pc) return;
    const sdp = pc.localDescription.sdp;
    if (!send(offerFrame ? offerFrame(sdp) : { type: 'call.media.offer', interaction_id: interactionId, sdp })) {
      onStatus('failed');
    }
  }

  open().catch(() => { if (!stopped) onStatus('failed'); });

  return {
    /** The hub's answer to our offer. */
    answer(sdp) {
      if (pc && pc.signalingState === 'have-local-offer') {
        pc.setRemoteDescription({ type: 'answer', sdp }).catch(() => onStatus('failed'));
      }
    },
    /** Mutes (true) or unmutes the microphone: the caller hears silence, the call goes on. */
    mute(on) {
      if (stream) stream.getAudioTracks().forEach((track) => { track.enabled = !on; });
    },
    stop,
  };
}
