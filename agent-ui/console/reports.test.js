// The report page's pure parts: how figures read, the chart's geometry, the interval labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartGeometry, columnsFor, formatFigure, intervalLabel, reportQuery } from './reports.js';

test('figures read as counts, percentages and durations; nothing counted reads as a dash', () => {
  const duration = (ms) => `${ms / 1000}s`;
  assert.equal(formatFigure('count', 3, duration), '3');
  assert.equal(formatFigure('ratio', 0.8125, duration), '81.3 %');
  assert.equal(formatFigure('duration', 45000, duration), '45s');
  assert.equal(formatFigure('ratio', null, duration), '—');
  assert.ok(columnsFor('agent').some((c) => c.key === 'occupancy'));
  assert.ok(!columnsFor('queue').some((c) => c.key === 'occupancy'));
});

test('the chart scales bars to the busiest interval and breaks the SL line where nothing counted', () => {
  const row = {
    intervals: [
      { offered: 2, service_level: 1 },
      { offered: 4, service_level: 0.5 },
      { offered: 0, service_level: null },
      { offered: 1, service_level: 0 },
    ],
  };
  const g = chartGeometry(row, 400, 100);
  assert.equal(g.most, 4);
  assert.deepEqual(g.bars.map((b) => b.height), [50, 100, 0, 25]);
  assert.equal(g.bars[1].y, 0);
  assert.deepEqual(g.lines, ['50.0,0.0 150.0,50.0', '350.0,100.0']);
  assert.deepEqual(g.dots, [{ x: 350, y: 100 }], 'a lone point is a dot');
});

test('interval labels and queries', () => {
  assert.equal(intervalLabel('2026-10-25T02:15:00+01:00', '15m'), '10-25 02:15+01:00');
  assert.equal(intervalLabel('2026-10-25T00:00:00+02:00', 'day'), '2026-10-25');
  assert.equal(reportQuery({ from: '2026-10-01', to: '2026-10-31', granularity: 'day' }, { format: 'csv' }),
    'from=2026-10-01&to=2026-10-31&granularity=day&format=csv');
});

test('every column, dimension, interval and model the page names has words in both languages', async () => {
  const { default: en } = await import('./i18n/en.js');
  const { default: zh } = await import('./i18n/zh-CN.js');
  const keys = [
    ...columnsFor('agent').map((c) => `reports.col.${c.key}`),
    ...['queue', 'agent', 'channel'].map((d) => `reports.by.${d}`),
    ...['15m', 'hour', 'day', 'week'].map((g) => `reports.every.${g}`),
    ...['erlang_c', 'erlang_a'].map((m) => `staffing.model.${m}`),
  ];
  for (const key of keys) {
    assert.ok(key in en, `en: ${key}`);
    assert.ok(key in zh, `zh-CN: ${key}`);
  }
});
