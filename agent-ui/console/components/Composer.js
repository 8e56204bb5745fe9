// The reply box: Enter sends, Shift+Enter starts a new line. Tells the customer the agent is
// typing (at most every few seconds) and that they stopped. In a chat, a file picked beside it
// is sent at once (`onFile`). The emoji button opens a row of emoji; one picked goes in at the
// caret (emoji.js) and Escape closes the row.
import { useState, useRef, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { EMOJI, insertAt } from '../emoji.js';

const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 2500;

export function Composer({ onSend, onTyping, onFile }) {
  const [text, setText] = useState('');
  const [picking, setPicking] = useState(false);
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

  function input(e) {
    setText(e.currentTarget.value);
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
      <textarea ref=${box} rows="2" value=${text} placeholder=${t('chat.placeholder')} aria-label=${t('chat.placeholder')}
        onInput=${input}
        onKeyDown=${(e) => { if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); } }}
        data-testid="composer-input"></textarea>
      <button class="primary" type="submit" disabled=${!text.trim()} data-testid="composer-send">${t('chat.send')}</button>
    </form>
  `;
}
