// Errors the server sent on the socket, each dismissable.
import { html } from '../html.js';
import { t, errorText } from '../i18n.js';

export function ErrorBar({ errors, onDismiss }) {
  if (!errors.length) return null;
  return html`
    <div class="error-bar" role="alert">
      ${errors.map((e, i) => html`
        <div class="error-item" key=${i} data-testid="socket-error">
          <span>${errorText(e)}</span>
          <button class="link" onClick=${() => onDismiss(i)} data-testid="error-dismiss">${t('action.dismiss')}</button>
        </div>`)}
    </div>
  `;
}
