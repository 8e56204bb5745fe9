import { test } from 'node:test';
import assert from 'node:assert/strict';
import { columnValue, columnsParam, columnChoices } from './imports.js';

test("an import's columns go back to the hub as it named them", () => {
  const taken = [{ type: 'name' }, { type: 'field', key: 'seats' }, { type: 'ignore' }];
  assert.deepEqual(taken.map(columnValue), ['name', 'field:seats', '']);
  assert.equal(columnsParam(taken.map(columnValue)), 'name,field:seats,');
  const t = (k) => k;
  assert.deepEqual(columnChoices([{ key: 'seats', label: '席位' }], t).map((c) => c.value), ['', 'name', 'email', 'phone', 'tier', 'tags', 'field:seats']);
});
