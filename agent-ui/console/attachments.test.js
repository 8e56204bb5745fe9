import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addFiles, progress, uploaded, failed, removeFile, blocking, uploadIds, percent } from './attachments.js';

const pdf = { key: 'k1', name: 'invoice.pdf', size: 1000, type: 'application/pdf' };
const png = { key: 'k2', name: 'photo.png', size: 400, type: 'image/png' };

test('picked files upload, report progress and end with their upload id', () => {
  let list = addFiles([], [pdf, png]);
  assert.deepEqual(list.map((a) => [a.name, a.status, a.loaded]), [['invoice.pdf', 'uploading', 0], ['photo.png', 'uploading', 0]]);
  assert.equal(blocking(list), true, 'nothing is sent while a file uploads');
  list = progress(list, 'k1', 250);
  assert.equal(percent(list[0]), 25);
  // Progress never goes backwards nor past the size.
  list = progress(list, 'k1', 100);
  assert.equal(list[0].loaded, 250);
  list = progress(list, 'k1', 5000);
  assert.equal(list[0].loaded, 1000);
  list = uploaded(list, 'k1', { id: 'u1', filename: 'invoice.pdf', size: 1000 });
  list = uploaded(list, 'k2', { id: 'u2', filename: 'photo.png', size: 400 });
  assert.equal(blocking(list), false);
  assert.deepEqual(uploadIds(list), ['u1', 'u2']);
  assert.equal(percent(list[1]), 100);
});

test('a failed upload stays listed with its reason and holds the mail until removed', () => {
  let list = addFiles([], [pdf, png]);
  list = uploaded(list, 'k2', { id: 'u2', filename: 'photo.png' });
  list = failed(list, 'k1', { code: 'too_large', message: 'a file may be at most 10 bytes' });
  assert.deepEqual(list[0].error, { code: 'too_large', message: 'a file may be at most 10 bytes' });
  assert.equal(blocking(list), true);
  assert.deepEqual(uploadIds(list), ['u2'], 'only what the hub kept is named');
  list = removeFile(list, 'k1');
  assert.equal(blocking(list), false);
  assert.deepEqual(list.map((a) => a.key), ['k2']);
  // A late answer for a removed file changes nothing; the same file picked twice is listed once.
  assert.deepEqual(uploaded(list, 'k1', { id: 'u9' }), list);
  assert.equal(addFiles(list, [png]).length, 1);
  assert.equal(failed(addFiles([], [pdf]), 'k1', null)[0].error.code, 'internal');
});
