// The mailbox form both ways, and above all that a password never comes back into it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyMailboxForm, mailboxToForm, mailboxSpec, defaultPort, portAfterSecurity } from './mailboxes.js';

const LISTED = {
  id: 'mb1', address: 'support@shop.example', display_name: 'Shop Support', queue_id: 'q1',
  imap: { host: 'imap.shop.example', port: 993, security: 'tls', user: 'support', password: 'leaked?' },
  folder: 'INBOX', done_folder: 'Done',
  smtp: { host: 'smtp.shop.example', port: 587, security: 'starttls', user: 'support' },
  signature: 'Shop Support team', created_at: 1,
  status: { state: 'connected', last_fetch_at: 2, last_error: null, fetched: 3, idle: true },
};

test('editing a mailbox never prefills a password, even one the hub should not have sent', () => {
  const form = mailboxToForm(LISTED);
  assert.equal(form.imap.password, '');
  assert.equal(form.smtp.password, '');
  assert.equal(form.imap.port, '993');
  assert.equal(form.done_folder, 'Done');
});

test('a change leaves untouched passwords out; a typed one is sent', () => {
  const form = mailboxToForm(LISTED);
  let spec = mailboxSpec(form, false);
  assert.ok(!('password' in spec.imap) && !('password' in spec.smtp), JSON.stringify(spec));
  spec = mailboxSpec({ ...form, smtp: { ...form.smtp, password: 'n3w' } }, false);
  assert.equal(spec.smtp.password, 'n3w');
  assert.ok(!('password' in spec.imap));
  assert.deepEqual(spec.imap, { host: 'imap.shop.example', port: 993, security: 'tls', user: 'support' });
});

test('a new mailbox sends both passwords, an empty one included; blanks become the hub\'s defaults', () => {
  const form = { ...emptyMailboxForm('q1'), address: ' support@shop.example ', imap: { ...emptyMailboxForm().imap, host: 'imap', password: 'p' } };
  const spec = mailboxSpec({ ...form, folder: ' ', signature: '  ' }, true);
  assert.equal(spec.address, 'support@shop.example');
  assert.equal(spec.imap.password, 'p');
  assert.equal(spec.smtp.password, '');
  assert.equal(spec.folder, 'INBOX');
  assert.equal(spec.done_folder, null);
  assert.equal(spec.signature, null);
  assert.equal(spec.queue_id, 'q1');
});

test('the port follows the security unless the admin typed another', () => {
  assert.equal(defaultPort('imap', 'tls'), 993);
  assert.equal(defaultPort('smtp', 'starttls'), 587);
  assert.equal(portAfterSecurity('imap', '993', 'tls', 'starttls'), '143');
  assert.equal(portAfterSecurity('smtp', '', 'tls', 'plain'), '25');
  assert.equal(portAfterSecurity('imap', '10143', 'tls', 'plain'), '10143');
});
