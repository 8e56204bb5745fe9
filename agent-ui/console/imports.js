// A customer import's columns as the hub names them (`{type: "field", key}`) and as the query
// string and the console's selects name them (`field:key`). Pure.

/** What one column is taken as, as `columns=` names it: `name`, `field:plan`, or '' (left out). */
export function columnValue(takenAs) {
  if (!takenAs || takenAs.type === 'ignore') return '';
  return takenAs.type === 'field' ? `field:${takenAs.key}` : takenAs.type;
}

/** The `columns=` parameter for these select values, in the file's order. */
export const columnsParam = (values) => values.join(',');

/** What a column may be taken as: the customer's own parts, then the account's fields. */
export function columnChoices(fields, t) {
  return [
    { value: '', label: t('import.ignore') },
    ...['name', 'email', 'phone', 'tier', 'tags'].map((k) => ({ value: k, label: t(`import.column.${k}`) })),
    ...(fields || []).map((f) => ({ value: `field:${f.key}`, label: f.label })),
  ];
}
