// Web addresses in a message made links, safely: only http(s) addresses (and `www.` ones, taken
// as https) become links, the text around them stays text, and punctuation that ends a sentence
// stays out of the link. Pure: MessageList renders the parts, node --test runs this as it is.
// (The widget, a script of its own, carries the same rule in widget.js.)

// An address ends at a space, a quote, an angle bracket or Chinese punctuation (a Chinese
// sentence has no space after a link).
const ADDRESS = /\b(?:https?:\/\/|www\.)[^\s<>"'。，；：！？、（）【】「」『』]+/gi;
const TRAILING = /[.,;:!?'")\]}>。，；：！？）】」』]+$/u;

/** `text` as parts: `{ text }` or `{ text, href }`. */
export function linkParts(text) {
  const parts = [];
  let last = 0;
  for (const match of String(text || '').matchAll(ADDRESS)) {
    const shown = match[0].replace(TRAILING, '');
    if (!shown || /^www\.$/i.test(shown)) continue;
    if (match.index > last) parts.push({ text: text.slice(last, match.index) });
    const href = /^www\./i.test(shown) ? `https://${shown}` : shown;
    parts.push({ text: shown, href });
    last = match.index + shown.length;
  }
  if (last < String(text || '').length) parts.push({ text: text.slice(last) });
  return parts;
}
