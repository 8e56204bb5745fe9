// A messaging conversation's reply window: until when the agent may answer freely, and once it has
// closed, why a reply will not be delivered; on WhatsApp, a form to send an approved template
// instead (the only message it delivers then).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t, formatDateTime } from '../i18n.js';
import { replyWindow, takesTemplates, templateSpec } from '../messaging.js';

export function ReplyWindow({ messages, onTemplate }) {
  const w = replyWindow(messages, Date.now());
  const [name, setName] = useState('');
  const [language, setLanguage] = useState('');
  const [params, setParams] = useState('');
  if (!w) return null;
  if (w.open) {
    return html`<p class="reply-window muted small-text" data-testid="reply-window" data-open="true">
      ${t('messaging.window_open', { time: formatDateTime(w.closesAt) })}</p>`;
  }
  const spec = templateSpec(name, language, params);
  function submit(e) {
    e.preventDefault();
    if (!spec) return;
    onTemplate(spec);
    setParams('');
  }
  return html`
    <section class="reply-window closed" data-testid="reply-window" data-open="false" aria-live="polite">
      <p role="note">${t(takesTemplates(w) ? 'messaging.window_closed_whatsapp' : 'messaging.window_closed', { hours: w.hours })}</p>
      ${takesTemplates(w) && html`
        <form class="template-form grid-form" onSubmit=${submit} data-testid="template-form">
          <label>${t('messaging.template_name')}
            <input value=${name} onInput=${(e) => setName(e.currentTarget.value)} data-testid="template-name" autocomplete="off" /></label>
          <label>${t('messaging.template_language')}
            <input value=${language} onInput=${(e) => setLanguage(e.currentTarget.value)} data-testid="template-language" autocomplete="off" /></label>
          <label class="full">${t('messaging.template_params')}
            <textarea rows="2" value=${params} onInput=${(e) => setParams(e.currentTarget.value)} data-testid="template-params"></textarea></label>
          <div class="form-actions full"><button type="submit" disabled=${!spec} data-testid="template-send">${t('messaging.template_send')}</button></div>
        </form>`}
    </section>
  `;
}
