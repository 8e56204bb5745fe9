// A conversation's labels, shown and changed from its pane: each label a chip with a remove
// button, and a box that adds one on Enter. The hub keeps them (`PUT /conversations/{id}/labels`)
// and the inbox filters by them. One change at a time: each replaces the whole list, so the next
// waits for the answer to the last (the box is read-only meanwhile, and keeps its focus).
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';
import { withLabel, withoutLabel, MAX_LABEL_BYTES } from '../conversations.js';

export function LabelEditor({ interactionId }) {
  const [labels, setLabels] = useState(null);
  const [text, setText] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    api.conversation(interactionId).then((c) => live && setLabels(c.labels || []), () => live && setLabels([]));
    return () => { live = false; };
  }, [interactionId]);
  if (labels === null) return null;

  const save = async (next) => {
    setError(null);
    setBusy(true);
    try {
      const line = await api.setLabels(interactionId, next);
      setLabels(line.labels || []);
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const add = async (e) => {
    e.preventDefault();
    if (busy) return;
    const next = withLabel(labels, text);
    if (!next) {
      setError(t('labels.refused', { bytes: MAX_LABEL_BYTES }));
      return;
    }
    if (await save(next)) setText('');
  };

  return html`
    <div class="labels" data-testid="labels">
      <ul class="label-chips" aria-label=${t('labels.title')}>
        ${labels.map((l) => html`<li key=${l} class="label-chip" data-testid="label-chip" data-label=${l}>
          <span>${l}</span>
          <button type="button" class="label-remove" disabled=${busy} onClick=${() => save(withoutLabel(labels, l))}
            aria-label=${t('labels.remove', { label: l })} data-testid="label-remove">×</button>
        </li>`)}
      </ul>
      <form class="label-add" onSubmit=${add}>
        <input value=${text} readOnly=${busy} onInput=${(e) => setText(e.currentTarget.value)} aria-label=${t('labels.add')}
          placeholder=${t('labels.add')} data-testid="label-input" />
      </form>
      ${error && html`<span class="form-error small-text" role="alert" data-testid="label-error">${error}</span>`}
    </div>
  `;
}
