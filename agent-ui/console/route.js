// Hash routes, so the hub serves one index.html for every page:
//   #/ workspace · #/inbox · #/pipeline · #/customers · #/customers/<id> · #/watch/<interaction id>
//   #/supervisor · #/reports · #/profile (the agent's own name and picture)
//   #/admin/queues · #/admin/agents · #/admin/dispositions · #/admin/phones · #/admin/mailboxes
//   #/admin/inboxes · #/admin/teams · #/admin/audit · #/admin/fields
//   #/knowledge · #/knowledge/<article id> · #/canned (canned responses)

export function parseRoute(hash) {
  const parts = (hash || '').replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'customers') return parts[1] ? { name: 'customer', id: parts[1] } : { name: 'customers' };
  if (parts[0] === 'supervisor') return { name: 'supervisor' };
  if (parts[0] === 'reports') return { name: 'reports' };
  if (parts[0] === 'inbox') return { name: 'inbox' };
  if (parts[0] === 'knowledge') return { name: 'knowledge', id: parts[1] || null };
  if (parts[0] === 'canned') return { name: 'canned' };
  if (parts[0] === 'pipeline') return { name: 'pipeline' };
  if (parts[0] === 'profile') return { name: 'profile' };
  if (parts[0] === 'watch' && parts[1]) return { name: 'watch', id: parts[1] };
  if (parts[0] === 'admin' && ['queues', 'agents', 'teams', 'dispositions', 'fields', 'phones', 'mailboxes', 'inboxes', 'audit'].includes(parts[1])) return { name: `admin-${parts[1]}` };
  return { name: 'workspace' };
}

export function watchHref(interactionId) {
  return `#/watch/${encodeURIComponent(interactionId)}`;
}

export function customerHref(id) {
  return `#/customers/${encodeURIComponent(id)}`;
}
