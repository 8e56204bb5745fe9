import { test } from 'node:test';
import assert from 'node:assert/strict';
import { columns, lifecycleLabel, minorUnits, money, owners, stageLabel, totalsText } from './pipeline.js';

const settings = {
  stages: [
    { key: 'qualification', probability: 10, checklist: [] },
    { key: 'proposal', label: 'Offer sent', probability: 40, checklist: [] },
    { key: 'demo', probability: 20, checklist: [] },
  ],
  lifecycle_labels: { lead: 'Suspect' },
};

test('labels: the account\'s, else the catalogue\'s, else the key', () => {
  assert.equal(stageLabel(settings, 'proposal'), 'Offer sent');
  assert.equal(stageLabel(settings, 'qualification'), 'Qualification');
  assert.equal(stageLabel(settings, 'demo'), 'demo');
  assert.equal(lifecycleLabel(settings, 'lead'), 'Suspect');
  assert.equal(lifecycleLabel(settings, 'churned'), 'Churned');
  assert.equal(lifecycleLabel(settings, null), '');
});

test('money in and out of minor units', () => {
  assert.equal(money(125000, 'EUR'), '1,250.00 EUR');
  assert.equal(money(900, 'JPY'), '900 JPY');
  assert.equal(minorUnits('1,250.5', 'EUR'), 125050);
  assert.equal(minorUnits('12', 'eur'), 1200);
  assert.equal(minorUnits('900', 'JPY'), 900);
  assert.equal(minorUnits('9.5', 'JPY'), null);
  assert.equal(minorUnits('-3', 'EUR'), null);
  assert.equal(minorUnits('1.234', 'EUR'), null);
  assert.equal(minorUnits('', 'EUR'), null);
  assert.equal(totalsText({ EUR: 100, CNY: 250 }), '1.00 EUR · 2.50 CNY');
  assert.equal(totalsText({}), '—');
});

test('a board\'s columns and owners', () => {
  const board = {
    settings,
    opportunities: [
      { id: 'a', stage: 'proposal', owner_id: '2', owner_name: 'Bob' },
      { id: 'b', stage: 'qualification', owner_id: '1', owner_name: 'Alice' },
      { id: 'c', stage: 'proposal', owner_id: '1', owner_name: 'Alice' },
    ],
    forecast: { stages: [{ key: 'proposal', total: { EUR: 5 }, weighted: { EUR: 2 } }], weighted: {} },
  };
  const cols = columns(board);
  assert.deepEqual(cols.map((c) => c.cards.map((o) => o.id)), [['b'], ['a', 'c'], []]);
  assert.deepEqual(cols[1].totals.total, { EUR: 5 });
  assert.deepEqual(cols[2].totals.total, {});
  assert.deepEqual(owners(board), [{ id: '1', name: 'Alice' }, { id: '2', name: 'Bob' }]);
});
