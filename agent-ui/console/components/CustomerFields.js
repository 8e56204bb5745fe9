// A customer's values of the account's own fields (`customer.fields`), in the order the admin
// set, as label and value; fields without a value are left out.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { fieldText, loadFields } from '../fields.js';

/** The account's field definitions, read once per page load. */
export function useFieldDefs() {
  const [defs, setDefs] = useState([]);
  useEffect(() => {
    let live = true;
    loadFields().then((list) => live && setDefs(list));
    return () => { live = false; };
  }, []);
  return defs;
}

export function CustomerFields({ customer }) {
  const defs = useFieldDefs();
  const values = customer.fields || {};
  const shown = defs.filter((d) => values[d.key] != null);
  if (!shown.length) return null;
  return html`
    <dl class="fields" data-testid="customer-fields">
      ${shown.map((d) => html`<div class="field" key=${d.key} data-testid="customer-field" data-key=${d.key}>
        <dt>${d.label}</dt><dd>${fieldText(values[d.key])}</dd></div>`)}
    </dl>
  `;
}
