// Links to the console's pages; supervisors and admins see theirs.
import { html } from '../html.js';
import { t } from '../i18n.js';

export function Nav({ role, route }) {
  const links = [
    { href: '#/', name: 'workspace', label: t('nav.workspace') },
    { href: '#/inbox', name: 'inbox', label: t('nav.conversations') },
    { href: '#/customers', name: 'customers', label: t('nav.customers'), also: ['customer'] },
    { href: '#/knowledge', name: 'knowledge', label: t('nav.knowledge') },
    { href: '#/canned', name: 'canned', label: t('nav.canned') },
    { href: '#/pipeline', name: 'pipeline', label: t('nav.pipeline') },
  ];
  if (role === 'supervisor' || role === 'admin') {
    links.push({ href: '#/supervisor', name: 'supervisor', label: t('nav.supervisor') });
    links.push({ href: '#/reports', name: 'reports', label: t('nav.reports') });
  }
  if (role === 'admin') {
    links.push({ href: '#/admin/queues', name: 'admin-queues', label: t('nav.queues') });
    links.push({ href: '#/admin/agents', name: 'admin-agents', label: t('nav.agents') });
    links.push({ href: '#/admin/teams', name: 'admin-teams', label: t('nav.teams') });
    links.push({ href: '#/admin/dispositions', name: 'admin-dispositions', label: t('nav.dispositions') });
    links.push({ href: '#/admin/fields', name: 'admin-fields', label: t('nav.fields') });
    links.push({ href: '#/admin/phones', name: 'admin-phones', label: t('nav.phones') });
    links.push({ href: '#/admin/mailboxes', name: 'admin-mailboxes', label: t('nav.mailboxes') });
    links.push({ href: '#/admin/inboxes', name: 'admin-inboxes', label: t('nav.inboxes') });
    links.push({ href: '#/admin/audit', name: 'admin-audit', label: t('nav.audit') });
  }
  return html`
    <nav class="nav">
      ${links.map((l) => {
        const active = route.name === l.name || (l.also || []).includes(route.name);
        return html`<a key=${l.name} href=${l.href} class=${active ? 'active' : ''}
          aria-current=${active ? 'page' : undefined} data-testid=${`nav-${l.name}`}>${l.label}</a>`;
      })}
    </nav>
  `;
}
