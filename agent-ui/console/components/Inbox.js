// The agent's inbox (#/inbox): the conversations they work from (theirs, those they snoozed and
// until when, the unassigned ones of their queues, all they may see, the closed ones, which they
// may reopen for themselves) with unread counts, the last message, the
// channel and how long the customer has waited; filters, order, and search across conversations
// (Chinese or English). The list is read again whenever the socket says it may have changed
// (`tick`); what each agent sees is decided by the hub.
import { useState, useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, label, formatTime, formatDateTime, errorText } from '../i18n.js';
import { reopenable } from '../snooze.js';
import { customerHref, watchHref } from '../route.js';
import { MoveControl } from './MoveControl.js';
import { FOLDERS, CHANNELS, STATES, ORDERS, defaultFilters, listQuery, waitedMinutes, channelIcon, openTarget, appendPage, watchable } from '../conversations.js';

export function Inbox({ tick, queues, heldIds, onOpenHeld, supervising }) {
  const [filters, setFilters] = useState(defaultFilters);
  const [lines, setLines] = useState(null);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);
  const [q, setQ] = useState('');
  const [results, setResults] = useState(null);
  const [now, setNow] = useState(Date.now());
  // Supervisors move waiting contacts to the people of their teams (as /queues/stats lists them).
  const [people, setPeople] = useState([]);
  const asked = useRef(0);

  useEffect(() => {
    if (!supervising) return;
    api.queueStats().then((s) => setPeople(s.agents)).catch(() => setPeople([]));
  }, [supervising, tick]);

  // The first page for the filters; a later answer replaces an earlier one, never the reverse.
  // A folder or filter chosen is asked for at once; a label being typed, or the socket's news
  // (`tick`, in bursts), waits 150 ms so that one request answers them all.
  const shown = useRef(null);
  useEffect(() => {
    const n = ++asked.current;
    const chosen = shown.current !== null && shown.current !== filters && shown.current.label === filters.label;
    shown.current = filters;
    const timer = setTimeout(() => {
      api.conversations(listQuery(filters))
        .then((page) => {
          if (n !== asked.current) return;
          setLines(page.conversations);
          setNext(page.next);
          setError(null);
        })
        .catch(() => n === asked.current && setError(t('error.generic')));
    }, lines && !chosen ? 150 : 0);
    return () => clearTimeout(timer);
  }, [filters, tick]);

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30000);
    return () => clearInterval(timer);
  }, []);

  const set = (key) => (e) => setFilters({ ...filters, [key]: e.currentTarget.value });

  function more() {
    api.conversations(listQuery(filters, next)).then((page) => {
      setLines((shown) => appendPage(shown || [], page.conversations));
      setNext(page.next);
    }).catch(() => setError(t('error.generic')));
  }

  async function search(e, before) {
    if (e) e.preventDefault();
    const text = q.trim();
    if (!text) {
      setResults(null);
      return;
    }
    try {
      const page = await api.searchConversations(text, before);
      setResults((shown) => (before && shown ? { ...page, conversations: shown.conversations, messages: shown.messages.concat(page.messages) } : page));
    } catch {
      setError(t('error.generic'));
    }
  }

  async function reopen(line) {
    try {
      await api.reopen(line.interaction.id);
      // Theirs now: the workspace shows it once the hub's `interaction.assigned` is in.
      onOpenHeld(line.interaction.id);
    } catch (err) {
      setError(errorText(err));
    }
  }

  function open(line) {
    const last = line.last_message;
    if (last && line.unread) api.markRead(line.interaction.id, last.seq).catch(() => {});
    const target = openTarget(line, heldIds);
    if (target.kind === 'workspace') onOpenHeld(target.id);
    else location.hash = customerHref(target.id);
  }

  const select = (key, values, prefix, any) => html`
    <label class="inbox-filter">
      <span>${t(`inbox.filter.${key}`)}</span>
      <select value=${filters[key]} onChange=${set(key)} data-testid=${`inbox-filter-${key}`}>
        ${any && html`<option value="">${t('inbox.any')}</option>`}
        ${values.map((v) => html`<option key=${v.value} value=${v.value}>${v.label}</option>`)}
      </select>
    </label>`;

  return html`
    <div class="wide-page inbox-page">
      <h1>${t('inbox.title')}</h1>
      <form class="search-form" role="search" onSubmit=${search}>
        <input type="search" value=${q} aria-label=${t('inbox.search_label')} placeholder=${t('inbox.search_label')}
          onInput=${(e) => setQ(e.currentTarget.value)} data-testid="inbox-search-input" />
        <button class="primary" type="submit" data-testid="inbox-search-submit">${t('customers.search')}</button>
        ${results && html`<button type="button" onClick=${() => { setResults(null); setQ(''); }} data-testid="inbox-search-clear">${t('inbox.search_clear')}</button>`}
      </form>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${results ? html`<${SearchResults} results=${results} onOpen=${open} onMore=${() => search(null, results.next)} />` : html`
        <div class="inbox-folders" role="tablist" aria-label=${t('inbox.folders')}>
          ${FOLDERS.map((f) => html`
            <button key=${f} type="button" role="tab" aria-selected=${filters.folder === f} class=${filters.folder === f ? 'active' : ''}
              onClick=${() => setFilters({ ...filters, folder: f })} data-testid=${`inbox-folder-${f}`}>${t(`inbox.folder.${f}`)}</button>`)}
        </div>
        <div class="inbox-filters">
          ${select('channel', CHANNELS.map((c) => ({ value: c, label: label('channel', c) })), 'channel', true)}
          ${select('queue', queues.map((q) => ({ value: q.id, label: q.name })), 'queue', true)}
          ${select('state', STATES.map((s) => ({ value: s, label: label('istate', s) })), 'istate', true)}
          <label class="inbox-filter">
            <span>${t('inbox.filter.label')}</span>
            <input value=${filters.label} onChange=${set('label')} data-testid="inbox-filter-label" />
          </label>
          ${select('order', ORDERS.map((o) => ({ value: o, label: t(`inbox.order.${o}`) })), 'order', false)}
        </div>
        ${lines && lines.length === 0 && html`<p class="muted" data-testid="inbox-empty">${t('inbox.empty')}</p>`}
        ${lines && lines.length > 0 && html`
          <ul class="result-list" data-testid="inbox-list">
            ${lines.map((line) => html`<${Line} key=${line.interaction.id} line=${line} now=${now} onOpen=${open}
              onReopen=${reopenable(line.interaction) ? () => reopen(line) : null}
              move=${supervising && ['queued', 'offered'].includes(line.interaction.state) && html`<${MoveControl} interaction=${line.interaction} queues=${queues} people=${people} />`}
              watch=${supervising && watchable(line, heldIds)} />`)}
          </ul>`}
        ${next && html`<button type="button" onClick=${more} data-testid="inbox-more">${t('inbox.more')}</button>`}
      `}
    </div>
  `;
}

function Line({ line, now, onOpen, onReopen, move, watch }) {
  const i = line.interaction;
  // A snoozed conversation waits for its time, not for an agent.
  const waited = i.snoozed_until ? null : waitedMinutes(line.waiting_since, now);
  const last = line.last_message;
  return html`
    <li>
      <button type="button" class="result inbox-line" onClick=${() => onOpen(line)} data-testid="inbox-line" data-interaction-id=${i.id}>
        <span class="inbox-channel" title=${label('channel', i.channel)} aria-label=${label('channel', i.channel)}>${channelIcon(i.channel)}</span>
        <span class="inbox-main">
          <span class="result-name">${line.customer_name}</span>
          <span class="muted small-text inbox-preview">${last ? last.body : t('inbox.no_messages')}</span>
        </span>
        <span class="inbox-meta small-text">
          <span class="muted">${label('channel', i.channel)}</span>
          ${i.snoozed_until
            ? html`<span class="badge badge-snoozed" data-testid="inbox-snoozed">${t('inbox.snoozed_until', { time: formatDateTime(i.snoozed_until) })}</span>`
            : html`<span class="badge">${label('istate', i.state)}</span>`}
          ${line.labels.map((l) => html`<span key=${l} class="badge badge-tier">${l}</span>`)}
          ${waited != null && html`<span class="inbox-waiting" data-testid="inbox-waiting">${t('inbox.waiting', { minutes: waited })}</span>`}
          ${last && html`<span class="muted">${formatTime(last.created_at)}</span>`}
          ${line.unread > 0 && html`<span class="badge badge-unread" data-testid="inbox-unread" aria-label=${t('inbox.unread', { count: line.unread })}>${line.unread}</span>`}
        </span>
      </button>
      ${onReopen && html`<button type="button" class="small inbox-watch" onClick=${onReopen} data-testid="inbox-reopen"
        aria-label=${t('inbox.reopen_label', { name: line.customer_name })}>${t('inbox.reopen')}</button>`}
      ${watch && html`<a class="button-like small inbox-watch" href=${watchHref(i.id)} data-testid="inbox-watch"
        aria-label=${t('inbox.watch_label', { name: line.customer_name })}>${t('inbox.watch')}</a>`}
      ${move}
    </li>`;
}

function SearchResults({ results, onOpen, onMore }) {
  const none = results.conversations.length === 0 && results.messages.length === 0;
  return html`
    <div data-testid="inbox-search-results">
      ${none && html`<p class="muted" data-testid="inbox-search-empty">${t('inbox.search_none')}</p>`}
      ${results.conversations.length > 0 && html`
        <h2 class="section-title">${t('inbox.search_conversations')}</h2>
        <ul class="result-list">
          ${results.conversations.map((line) => html`<${Line} key=${line.interaction.id} line=${line} now=${Date.now()} onOpen=${onOpen} />`)}
        </ul>`}
      ${results.messages.length > 0 && html`
        <h2 class="section-title">${t('inbox.search_messages')}</h2>
        <ul class="result-list">
          ${results.messages.map((hit) => html`
            <li key=${`${hit.interaction.id}:${hit.message.seq}`}>
              <a class="result" href=${customerHref(hit.interaction.customer_id)} data-testid="inbox-search-hit">
                <span class="inbox-channel" aria-label=${label('channel', hit.interaction.channel)}>${channelIcon(hit.interaction.channel)}</span>
                <span class="result-name">${hit.customer_name}</span>
                <span class="inbox-preview">${hit.message.body}</span>
                <span class="muted small-text">${formatTime(hit.message.created_at)}</span>
              </a>
            </li>`)}
        </ul>`}
      ${results.next && html`<button type="button" onClick=${onMore} data-testid="inbox-search-more">${t('inbox.more')}</button>`}
    </div>`;
}
