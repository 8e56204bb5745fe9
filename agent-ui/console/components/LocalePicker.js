// The language switch: each language named in itself.
import { html } from '../html.js';
import { LOCALES, t } from '../i18n.js';

export function LocalePicker({ locale, onLocale }) {
  return html`
    <select class="locale-picker" aria-label=${t('locale.label')} value=${locale}
      onChange=${(e) => onLocale(e.currentTarget.value)} data-testid="locale-select">
      ${LOCALES.map((l) => html`<option value=${l.code} key=${l.code}>${l.label}</option>`)}
    </select>
  `;
}
