// The console's keyboard shortcuts: which key does what, and which action a keydown asks for.
// Pure (the event is read, never changed); Session.js listens and acts, ShortcutHelp.js lists them.
//
// A plain key works only when the agent is not typing (focus in an input, textarea, select or
// editable text); an Alt chord works everywhere, so an agent in the composer can accept, move to
// the next conversation or end without leaving the keyboard. Chords are matched by physical key
// (`code`): Alt+letter types other characters on some layouts.

/** Each shortcut: the action, its plain key (or null) and its Alt chord (a `code`, or null). */
export const SHORTCUTS = [
  { action: 'accept', key: 'a', chord: 'KeyA' },
  { action: 'decline', key: 'd', chord: 'KeyD' },
  { action: 'next', key: 'j', chord: 'ArrowDown' },
  { action: 'previous', key: 'k', chord: 'ArrowUp' },
  // Ending a conversation by one stray key would be too easy: chord only.
  { action: 'end', key: null, chord: 'KeyE' },
  { action: 'wrapup', key: 'w', chord: 'KeyW' },
  { action: 'composer', key: 'r', chord: 'KeyR' },
  // Opens the snooze menu of the selected chat or email; choosing is a second step.
  { action: 'snooze', key: 'z', chord: 'KeyZ' },
  { action: 'search', key: '/', chord: 'KeyS' },
  { action: 'help', key: '?', chord: null },
];

/** How a chord's key is written in the overlay. */
const CHORD_NAMES = { ArrowDown: '↓', ArrowUp: '↑' };
export const chordName = (code) => CHORD_NAMES[code] || code.replace(/^Key/, '');

/** Whether focus is somewhere the agent types (a key there is text, not a command). */
export function isTyping(target) {
  if (!target) return false;
  const tag = (target.tagName || '').toLowerCase();
  return tag === 'input' || tag === 'textarea' || tag === 'select' || Boolean(target.isContentEditable);
}

/** The action a keydown asks for, or null. `e` needs key, code, altKey, ctrlKey, metaKey, target. */
export function shortcutFor(e) {
  if (e.ctrlKey || e.metaKey || e.isComposing || e.repeat) return null;
  if (e.altKey) {
    if (e.shiftKey) return null;
    const s = SHORTCUTS.find((x) => x.chord && x.chord === e.code);
    return s ? s.action : null;
  }
  if (isTyping(e.target)) return null;
  const s = SHORTCUTS.find((x) => x.key && x.key === e.key);
  return s ? s.action : null;
}

/** The held conversation `delta` places after (1) or before (-1) the selected one, wrapping. */
export function neighbour(heldOrder, selected, delta) {
  if (!heldOrder.length) return null;
  const at = heldOrder.indexOf(selected);
  if (at < 0) return heldOrder[delta > 0 ? 0 : heldOrder.length - 1];
  return heldOrder[(at + delta + heldOrder.length) % heldOrder.length];
}
