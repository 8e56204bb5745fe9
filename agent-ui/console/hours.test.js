import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hoursToForm, formToHours } from './hours.js';

test('hours go into the form and come back as they were', () => {
  const hours = {
    time_zone: 'Asia/Shanghai',
    open: { mon: ['09:00-12:30', '13:30-18:00'], sat: ['22:00-02:00'] },
    holidays: ['2026-10-01', '2026-10-02'],
    closed_when_unstaffed: true,
  };
  const form = hoursToForm(hours);
  assert.equal(form.mon, '09:00-12:30, 13:30-18:00');
  assert.equal(form.tue, '');
  assert.equal(form.holidays, '2026-10-01, 2026-10-02');
  assert.deepEqual(formToHours(form), hours);
});

test('no hours: always open, and the form says so', () => {
  const form = hoursToForm(null);
  assert.equal(form.on, false);
  assert.equal(formToHours(form), null);
  assert.equal(formToHours({ ...form, on: true, time_zone: ' UTC ' }).time_zone, 'UTC');
});

test('spans and dates may be split by commas (either width) or spaces', () => {
  const hours = formToHours({ ...hoursToForm(null), on: true, time_zone: 'UTC', fri: '09:00-12:00，13:00-17:00  ', holidays: '2026-12-25 2027-01-01,' });
  assert.deepEqual(hours.open, { fri: ['09:00-12:00', '13:00-17:00'] });
  assert.deepEqual(hours.holidays, ['2026-12-25', '2027-01-01']);
});
