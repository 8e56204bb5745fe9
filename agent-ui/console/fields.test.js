import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldText, fieldValue, changedFields, parseChoices } from './fields.js';

const defs = [
  { key: 'plan', label: 'Plan', kind: 'choice', choices: ['Free', 'Pro'] },
  { key: 'seats', label: 'Seats', kind: 'number', choices: [] },
  { key: 'products', label: 'Products', kind: 'multi_choice', choices: ['Phones', 'Chat', 'Mail'] },
  { key: 'ref', label: 'Reference', kind: 'text', choices: [] },
];

test('a value in words', () => {
  assert.equal(fieldText(['Phones', 'Mail']), 'Phones, Mail');
  assert.equal(fieldText(12), '12');
  assert.equal(fieldText(null), '');
});

test("a form's inputs become the values the hub keeps, and only the changed ones go", () => {
  assert.equal(fieldValue(defs[1], ' 12,5 '), 12.5);
  assert.equal(fieldValue(defs[1], 'many'), 'many', 'left for the hub to refuse, by name');
  assert.equal(fieldValue(defs[3], '  '), null);
  assert.deepEqual(fieldValue(defs[2], ['Mail', 'Phones']), ['Phones', 'Mail']);
  assert.equal(fieldValue(defs[2], []), null);
  const current = { plan: 'Pro', seats: 12, products: ['Phones'] };
  assert.deepEqual(changedFields(defs, current, { plan: 'Pro', seats: '14', products: ['Phones'], ref: '' }), { seats: 14 });
  assert.deepEqual(changedFields(defs, current, { plan: '', products: ['Phones', 'Chat'] }), { plan: null, products: ['Phones', 'Chat'] });
});

test('choices are typed one per line or with commas, each once', () => {
  assert.deepEqual(parseChoices('Free, Pro\n企业版，Pro\n\n'), ['Free', 'Pro', '企业版']);
});
