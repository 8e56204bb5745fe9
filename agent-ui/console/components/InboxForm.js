// Admin: add a messaging inbox. The fields follow the chosen platform (inboxes.js FIELDS); the
// tokens the platform sends back come made up, and secrets are password inputs the admin may
// show. The browser's own checks are off (noValidate): what is required is the hub's to say, and
// its answer, shown below the form, marks and focuses the field it names.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import { useForm } from '../forms.js';
import { PLATFORMS, FIELDS, emptyInboxForm, inboxProblems } from '../inboxes.js';

const idOf = (path) => `inbox-${path.replace('.', '-')}`;

function focusField(path) {
  const el = document.getElementById(idOf(path));
  if (el) el.focus();
}

function Field({ kind, spec, f, shown, onShow, invalid, problem }) {
  const path = `${kind}.${spec.name}`;
  const id = idOf(path);
  const secret = kind === 'secrets';
  const text = t(`inboxes.${kind === 'settings' ? 'setting' : 'secret'}.${spec.name}`);
  const described = [spec.hint && `${id}-hint`, problem && `${id}-problem`].filter(Boolean).join(' ') || undefined;
  const testid = `inbox-${kind === 'settings' ? 'setting' : 'secret'}-${spec.name}`;
  return html`
    <div class="form-field">
      <label for=${id}><span>${text}</span></label>
      <div class="secret-row">
        <input id=${id} type=${secret && !shown ? 'password' : 'text'} required=${Boolean(spec.required)}
          autocomplete=${secret ? 'new-password' : 'off'} spellcheck="false" aria-invalid=${invalid ? 'true' : undefined}
          aria-describedby=${described} ...${f.field(path)} data-testid=${testid} />
        ${secret && html`<button type="button" class="small" aria-pressed=${shown ? 'true' : 'false'}
          aria-label=${t('inboxes.show_secret', { field: text })} onClick=${onShow} data-testid=${`${testid}-show`}>${t('inboxes.show')}</button>`}
      </div>
      ${problem && html`<span id=${`${id}-problem`} class="form-error small-text" data-testid=${`${testid}-problem`}>${problem}</span>`}
      ${spec.hint && html`<span id=${`${id}-hint`} class="hint">${t(`inboxes.hint.${spec.name}`)}</span>`}
    </div>
  `;
}

/**
 * `error`: the hub's refusal, `{err, field}` (field: the form path it names, or null), and
 * `errorText` the same in words.
 */
export function InboxForm({ queues, onSave, saving, error, errorText }) {
  const f = useForm(emptyInboxForm((queues[0] || {}).id || ''));
  const [problems, setProblems] = useState([]);
  const [shown, setShown] = useState({});
  const fields = FIELDS[f.form.platform];

  // The queues arrive after the page: the first one is the default until the admin picks.
  useEffect(() => {
    if (!f.form.queue_id && queues.length) f.set('queue_id', queues[0].id);
  }, [queues]);

  useEffect(() => {
    if (error && error.field) focusField(error.field);
  }, [error]);

  function submit(e) {
    e.preventDefault();
    const found = inboxProblems(f.form);
    setProblems(found);
    if (found.length) {
      focusField(found[0].field);
      return;
    }
    onSave(f.form);
  }

  const problemOf = (path) => {
    const p = problems.find((x) => x.field === path);
    return p ? t(p.key) : null;
  };
  const field = (kind) => (spec) => {
    const path = `${kind}.${spec.name}`;
    const problem = problemOf(path);
    return html`<${Field} key=${path} kind=${kind} spec=${spec} f=${f} shown=${Boolean(shown[spec.name])}
      onShow=${() => setShown((s) => ({ ...s, [spec.name]: !s[spec.name] }))}
      invalid=${Boolean(problem) || Boolean(error && error.field === path)} problem=${problem} />`;
  };

  return html`
    <form class="edit-form grid-form" noValidate aria-labelledby="inbox-form-title" onSubmit=${submit} data-testid="inbox-form">
      <h2 id="inbox-form-title" class="section-title full">${t('inboxes.new')}</h2>
      <label for="inbox-name"><span>${t('inboxes.name')}</span>
        <input id="inbox-name" required maxlength="100" ...${f.field('name')} data-testid="inbox-name" /></label>
      <label for="inbox-platform"><span>${t('inboxes.platform')}</span>
        <select id="inbox-platform" value=${f.form.platform} data-testid="inbox-platform"
          onChange=${(e) => { f.set('platform', e.currentTarget.value); setProblems([]); }}>
          ${PLATFORMS.map((p) => html`<option key=${p} value=${p}>${label('platform', p)}</option>`)}
        </select></label>
      <label for="inbox-queue"><span>${t('inboxes.queue')}</span>
        <select id="inbox-queue" required ...${f.pick('queue_id')} data-testid="inbox-queue">
          <option value="" disabled>${t('inboxes.choose_queue')}</option>
          ${queues.map((q) => html`<option key=${q.id} value=${q.id}>${q.name}</option>`)}
        </select></label>
      <fieldset class="grid-form fieldset full" data-testid="inbox-settings">
        <legend>${t('inboxes.settings')} · ${label('platform', f.form.platform)}</legend>
        ${fields.settings.map(field('settings'))}
      </fieldset>
      <fieldset class="grid-form fieldset full" data-testid="inbox-secrets">
        <legend>${t('inboxes.secrets')}</legend>
        ${fields.secrets.map(field('secrets'))}
      </fieldset>
      <div class="form-actions full">
        <button class="primary" type="submit" disabled=${saving} data-testid="inbox-save">${t('action.add')}</button>
      </div>
      ${error && html`<p class="form-error full" role="alert" data-testid="inbox-form-error">${errorText}</p>`}
    </form>
  `;
}
