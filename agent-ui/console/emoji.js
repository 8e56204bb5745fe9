// The emoji offered beside the reply box, and how one goes into the text: at the caret, replacing
// any selection. Pure: Composer renders the picker; node --test runs this as it is. (The widget,
// a script of its own, offers the same first sixteen.)

export const EMOJI = ['😀', '😂', '😊', '😍', '🙏', '👍', '👎', '👏', '🎉', '❤️', '😢', '😮', '🤔', '👋', '✅', '❌',
  '⭐', '📦', '🚚', '💳', '📞', '✉️', '⏰', '🙂'];

/** `text` with `emoji` put in place of `start`..`end`: `{ text, caret }` (the caret after it). */
export function insertAt(text, start, end, emoji) {
  const from = Math.max(0, Math.min(start ?? text.length, text.length));
  const to = Math.max(from, Math.min(end ?? from, text.length));
  return { text: text.slice(0, from) + emoji + text.slice(to), caret: from + emoji.length };
}
