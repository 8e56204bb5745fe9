// The reply box: Enter sends, Shift+Enter starts a new line. Tells the customer the agent is
// typing (at most every few seconds) and that they stopped. In a chat, a file picked beside it
// is sent at once (`onFile`). The emoji button opens a row of emoji; one picked goes in at the
// caret (emoji.js) and Escape closes the row. Typing `/` at the start of a word lists the canned
// responses (canned.js), filtered as the agent types, the most used first: ↑/↓ move, Enter or a
// click puts the chosen one in with its variables filled (the customer's and the agent's names),
// Escape closes the list.
import { useState, useRef, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { EMOJI, insertAt } from '../emoji.js';
import { fill, slashAt, matching, replaceSlash } from '../canned.js';

const MAX_SHOWN = 8;

const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 2500;

export function Composer({ onSend, onTyping, onFile, customer, agent }) {
  const [text, setText] = useState('');
  const [picking, setPicking] = useState(false);
  // The canned responses once asked for; the `/word` being typed; the highlighted one.
  const [canned, setCanned] = useState(null);
  const [slash, setSlash] = useState(null);
  const [chosen, setChosen] = useState(0);
  const box = useRef(null);
  const typingSent = useRef(0);
  const idle = useRef(null);

  function stopTyping() {
    clearTimeout(idle.current);
    if (typingSent.current) {
      typingSent.current = 0;
      onTyping(false);
    }
  }

  useEffect(() => stopTyping, []);

  function lookForSlash(value, caret) {
    const found = slashAt(value, caret);
    setSlash(found);
    setChosen(0);
    if (found && canned === null) {
      setCanned([]);
      api.cannedResponses().then(setCanned, () => setCanned([]));
    }
  }

  const shown = slash && canned ? matching(canned, slash.query).slice(0, MAX_SHOWN) : [];
  const listOpen = shown.length > 0;

  function insertCanned(c) {
    const el = box.current;
    const caret = el ? el.selectionStart : text.length;
    const { text: next, caret: after } = replaceSlash(text, slash.start, caret, fill(c.body, { customer, agent }));
    setText(next);
    setSlash(null);
    api.usedCanned(c.id).then(({ uses }) => setCanned((list) => (list || []).map((x) => (x.id === c.id ? { ...x, uses } : x))
      .sort((a, b) => b.uses - a.uses)), () => {});
    if (el) requestAnimationFrame(() => { el.focus(); el.setSelectionRange(after, after); });
  }

  function keyDown(e) {
    if (listOpen) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setChosen((chosen + step + shown.length) % shown.length);
        return;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        insertCanned(shown[Math.min(chosen, shown.length - 1)]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setSlash(null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  }

  function input(e) {
    setText(e.currentTarget.value);
    lookForSlash(e.currentTarget.value, e.currentTarget.selectionStart);
    if (!e.currentTarget.value) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - typingSent.current > TYPING_REFRESH_MS) {
      typingSent.current = now;
      onTyping(true);
    }
    clearTimeout(idle.current);
    idle.current = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function pick(emoji) {
    const el = box.current;
    const { text: next, caret } = insertAt(text, el ? el.selectionStart : text.length, el ? el.selectionEnd : text.length, emoji);
    setText(next);
    setPicking(false);
    if (el) requestAnimationFrame(() => { el.focus(); el.setSelectionRange(caret, caret); });
  }

  function send() {
    const body = text.trim();
    if (!body) return;
    onSend(body);
    setText('');
    setSlash(null);
    stopTyping();
  }

  return html`
    <form class="composer" onSubmit=${(e) => { e.preventDefault(); send(); }}>
      ${onFile && html`<label class="button-like composer-attach" title=${t('chat.attach')}>
        <span class="clip" aria-hidden="true"></span><span class="visually-hidden">${t('chat.attach')}</span>
        <input type="file" class="visually-hidden" data-testid="composer-file"
          onChange=${(e) => { const f = e.currentTarget.files && e.currentTarget.files[0]; e.currentTarget.value = ''; if (f) onFile(f); }} /></label>`}
      <div class="emoji-picker">
        <button type="button" class="button-like composer-emoji" aria-expanded=${picking ? 'true' : 'false'} aria-label=${t('chat.emoji')}
          title=${t('chat.emoji')} onClick=${() => setPicking(!picking)} data-testid="composer-emoji">☺</button>
        ${picking && html`<div class="emoji-grid" role="group" aria-label=${t('chat.emoji')} data-testid="emoji-grid"
          onKeyDown=${(e) => { if (e.key === 'Escape') { setPicking(false); if (box.current) box.current.focus(); } }}>
          ${EMOJI.map((emoji) => html`<button type="button" key=${emoji} onClick=${() => pick(emoji)} data-testid="emoji">${emoji}</button>`)}
        </div>`}
      </div>
      <div class="composer-box">
        ${listOpen && html`<ul class="canned-list" id="canned-list" role="listbox" aria-label=${t('canned.list')} data-testid="canned-list">
          ${shown.map((c, i) => html`<li key=${c.id} id=${`canned-${c.id}`} role="option" aria-selected=${i === chosen ? 'true' : 'false'}
            class=${i === chosen ? 'chosen' : ''} onMouseDown=${(e) => { e.preventDefault(); insertCanned(c); }} data-testid="canned-option">
            <code>/${c.shortcut}</code> <span>${c.title}</span>${c.owner_id && html` <span class="muted small-text">${t('canned.personal')}</span>`}
          </li>`)}
        </ul>`}
        <textarea ref=${box} rows="2" value=${text} placeholder=${t('chat.placeholder')} aria-label=${t('chat.placeholder')}
          onInput=${input} onKeyDown=${keyDown} onBlur=${() => setSlash(null)}
          aria-controls=${listOpen ? 'canned-list' : undefined} aria-autocomplete="list"
          aria-activedescendant=${listOpen ? `canned-${shown[Math.min(chosen, shown.length - 1)].id}` : undefined}
          title=${t('canned.hint')} data-testid="composer-input"></textarea>
      </div>
      <button class="primary" type="submit" disabled=${!text.trim()} data-testid="composer-send">${t('chat.send')}</button>
    </form>
  `;
}
