// The `?` overlay: every keyboard shortcut (shortcuts.js) with its key and Alt chord. A modal
// dialog: focus moves to its close button, Escape or the button closes it, and focus goes back to
// where it was.
import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { SHORTCUTS, chordName } from '../shortcuts.js';

export function ShortcutHelp({ onClose }) {
  const close = useRef(null);
  useEffect(() => {
    const before = document.activeElement;
    if (close.current) close.current.focus();
    return () => {
      if (before && before.focus) before.focus();
    };
  }, []);
  function keyDown(e) {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onClose();
    } else if (e.key === 'Tab') {
      // The close button is the dialog's one control: focus stays on it.
      e.preventDefault();
    }
  }
  return html`
    <div class="overlay" onClick=${(e) => { if (e.target === e.currentTarget) onClose(); }}>
      <div class="dialog shortcut-help" role="dialog" aria-modal="true" aria-labelledby="shortcut-help-title"
        onKeyDown=${keyDown} data-testid="shortcut-help">
        <h2 id="shortcut-help-title">${t('shortcuts.title')}</h2>
        <p class="muted small-text">${t('shortcuts.intro')}</p>
        <table class="shortcut-table">
          <thead><tr><th scope="col">${t('shortcuts.action')}</th><th scope="col">${t('shortcuts.key')}</th><th scope="col">${t('shortcuts.anywhere')}</th></tr></thead>
          <tbody>
            ${SHORTCUTS.map((s) => html`
              <tr key=${s.action} data-testid="shortcut-row" data-action=${s.action}>
                <td>${t(`shortcuts.${s.action}`)}</td>
                <td>${s.key ? html`<kbd>${s.key}</kbd>` : '—'}</td>
                <td>${s.chord ? html`<kbd>Alt</kbd>+<kbd>${chordName(s.chord)}</kbd>` : '—'}</td>
              </tr>`)}
          </tbody>
        </table>
        <div class="form-actions">
          <button class="primary" ref=${close} onClick=${onClose} data-testid="shortcut-help-close">${t('action.close')}</button>
        </div>
      </div>
    </div>
  `;
}
