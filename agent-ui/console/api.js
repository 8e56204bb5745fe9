// REST client for /api/v1 (docs/protocol.md). The only module besides socket.js that touches the
// network. The session token lives in sessionStorage: it ends with the tab, and each tab logs in
// on its own.

const TOKEN_KEY = 'plugboard.token';
const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || 'internal';
  }
}

let onUnauthorized = () => {};

/** Called when a request comes back 401: the session is gone, show the login screen. */
export function setUnauthorizedHandler(f) {
  onUnauthorized = f;
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  // A Blob (a picture) goes as it is, anything else as JSON.
  const raw = typeof Blob !== 'undefined' && body instanceof Blob;
  if (body !== undefined) headers['Content-Type'] = raw ? body.type || 'application/octet-stream' : 'application/json';
  let res;
  try {
    res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'unavailable', e.message);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/auth/login') onUnauthorized();
    throw new ApiError(res.status, data && data.code, data && data.message);
  }
  return data;
}

const enc = encodeURIComponent;

export const login = (email, password) => request('POST', '/auth/login', { email, password });
export const logout = () => request('POST', '/auth/logout');
export const me = () => request('GET', '/me');
export const calling = () => request('GET', '/me/calling');
export const updateMe = (patch) => request('PATCH', '/me', patch);
/** The logged-in agent's picture, already scaled down (a Blob); answers the agent. */
export const setAvatar = (blob) => request('PUT', '/me/avatar', blob);
export const removeAvatar = () => request('DELETE', '/me/avatar');
/** Every agent of the account: `{id, name, shown_name, avatar, active}`. */
export const agentNames = () => request('GET', '/agents/names');
/** The account's own customer fields `[{key, label, kind, choices}]`; admins replace them whole. */
export const customerFields = () => request('GET', '/customer-fields');
export const setCustomerFields = (fields) => request('PUT', '/customer-fields', fields);

// The knowledge base: everyone reads what their queues show; supervisors and admins write.
export function articles({ q, category, queue, stage } = {}) {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (category) params.set('category', category);
  if (queue) params.set('queue', queue);
  if (stage) params.set('stage', stage);
  const query = params.toString();
  return request('GET', `/knowledge/articles${query ? `?${query}` : ''}`);
}
export function suggestArticles(text, queue) {
  const params = new URLSearchParams({ text });
  if (queue) params.set('queue', queue);
  return request('GET', `/knowledge/suggestions?${params}`);
}
export const article = (id) => request('GET', `/knowledge/articles/${encodeURIComponent(id)}`);
export const createArticle = (draft) => request('POST', '/knowledge/articles', draft);
export const updateArticle = (id, draft) => request('PUT', `/knowledge/articles/${encodeURIComponent(id)}`, draft);
export const deleteArticle = (id) => request('DELETE', `/knowledge/articles/${encodeURIComponent(id)}`);
export const previewArticle = (body) => request('POST', '/knowledge/preview', { body });

// Canned responses: the account's and the agent's own, the most used first.
export const cannedResponses = () => request('GET', '/canned-responses');
export const createCanned = (draft) => request('POST', '/canned-responses', draft);
export const updateCanned = (id, draft) => request('PUT', `/canned-responses/${encodeURIComponent(id)}`, draft);
export const deleteCanned = (id) => request('DELETE', `/canned-responses/${encodeURIComponent(id)}`);
export const usedCanned = (id) => request('POST', `/canned-responses/${encodeURIComponent(id)}/use`);

export const listQueues = () => request('GET', '/queues');
export const createQueue = (spec) => request('POST', '/queues', spec);
export const updateQueue = (id, spec) => request('PUT', `/queues/${enc(id)}`, spec);
export const queueStats = () => request('GET', '/queues/stats');

export const listAgents = () => request('GET', '/agents');
// The audit log, newest first: `query` is a URLSearchParams string (actor, action, from, to, before).
export const auditLog = (query) => request('GET', `/audit?${query}`);
export const colleagues = () => request('GET', '/colleagues');
export const createAgent = (spec) => request('POST', '/agents', spec);
export const updateAgent = (id, patch) => request('PATCH', `/agents/${enc(id)}`, patch);
/** A user's live sessions, newest first: `{id, created_at, last_seen_at, expires_at, client_addr, user_agent}`. */
export const agentSessions = (id) => request('GET', `/agents/${enc(id)}/sessions`);
export const endAgentSession = (id, session) => request('DELETE', `/agents/${enc(id)}/sessions/${enc(session)}`);
export const endAgentSessions = (id) => request('DELETE', `/agents/${enc(id)}/sessions`);
/** Ends their sessions, refuses their logins, hands their contacts on; nothing is deleted. */
export const deactivateAgent = (id) => request('POST', `/agents/${enc(id)}/deactivate`);
export const reactivateAgent = (id) => request('POST', `/agents/${enc(id)}/reactivate`);

/** A supervisor moves a waiting contact: `{queue_id?, agent_id?, reason}`. */
export const moveWaiting = (id, move) => request('POST', `/interactions/${enc(id)}/move`, move);
/** A supervisor sets an agent's state: `{state, break_reason?, reason}`. */
export const setAgentState = (id, change) => request('PUT', `/agents/${enc(id)}/state`, change);

/** Teams: `{id, name, leads, members, queues}`, each list of ids. */
export const listTeams = () => request('GET', '/teams');
export const createTeam = (spec) => request('POST', '/teams', spec);
export const updateTeam = (id, spec) => request('PUT', `/teams/${enc(id)}`, spec);
export const deleteTeam = (id) => request('DELETE', `/teams/${enc(id)}`);

export const listPhones = () => request('GET', '/phones');
export const createPhone = (spec) => request('POST', '/phones', spec);
export const deletePhone = (id) => request('DELETE', `/phones/${enc(id)}`);

export const listDispositions = () => request('GET', '/dispositions');
export const createDisposition = (code, label) => request('POST', '/dispositions', { code, label });
export const deleteDisposition = (code) => request('DELETE', `/dispositions/${enc(code)}`);

/** A page of an inbox list; `query` from conversations.js's listQuery. */
export const conversations = (query) => request('GET', `/conversations?${query}`);
export const searchConversations = (q, before) => request('GET', `/conversations/search?q=${enc(q)}${before ? `&before=${enc(before)}` : ''}`);
export const markRead = (id, seq) => request('POST', `/conversations/${enc(id)}/read`, { seq });
/** One conversation as an inbox line (its labels among them). */
export const conversation = (id) => request('GET', `/conversations/${enc(id)}`);
/** Replaces a conversation's labels; answers its line. */
export const setLabels = (id, labels) => request('PUT', `/conversations/${enc(id)}/labels`, { labels });
/** The agent snoozes a conversation they hold until `until` (ms); again with the same time changes nothing. */
export const snooze = (id, until) => request('POST', `/conversations/${enc(id)}/snooze`, { until });
/** The agent reopens a closed conversation for themselves: theirs at once. */
export const reopen = (id) => request('POST', `/conversations/${enc(id)}/reopen`);
export const searchCustomers = (q) => request('GET', `/customers?q=${enc(q)}`);
export const customerCard = (id) => request('GET', `/customers/${enc(id)}`);
export const updateCustomer = (id, patch) => request('PATCH', `/customers/${enc(id)}`, patch);
/** The conversation's customer is `customerId`, a customer already known: answers their card. */
export const linkCustomer = (interactionId, customerId) => request('POST', `/interactions/${enc(interactionId)}/customer`, { customer_id: customerId });
export const customerTimeline = (id) => request('GET', `/customers/${enc(id)}/timeline`);
export const interaction = (id) => request('GET', `/interactions/${enc(id)}`);

/** Gives customers to `ownerId` (null: nobody), with a reason for their timelines (supervisors). */
/** Gives customers (or, with `segmentId`, every customer of that segment) to `ownerId`. */
export const reassignCustomers = (customerIds, ownerId, reason, segmentId = null) =>
  request('POST', '/customers/reassign', segmentId ? { segment_id: segmentId, owner_id: ownerId, reason } : { customer_ids: customerIds, owner_id: ownerId, reason });
/** A spreadsheet (a File) of customers: `{columns, duplicates, dryRun}` as the hub's query takes them. */
export function importCustomers(file, { columns = null, duplicates = 'skip', dryRun = true } = {}) {
  const q = new URLSearchParams({ duplicates, dry_run: String(dryRun) });
  if (columns != null) q.set('columns', columns);
  return request('POST', `/customers/import?${q}`, file);
}
export const listSegments = () => request('GET', '/segments');
/** `{name, q, tiers, tags, regions, owner}`: answers the segment with its count. */
export const createSegment = (segment) => request('POST', '/segments', segment);
export const deleteSegment = (id) => request('DELETE', `/segments/${enc(id)}`);
export const segmentCustomers = (id) => request('GET', `/segments/${enc(id)}/customers`);
/** A task or callback on a customer: `{kind, title, due_at, owner_id?}`. */
export const createFollowUp = (customerId, followUp) => request('POST', `/customers/${enc(customerId)}/follow-ups`, followUp);
export const scheduleCallback = (customerId, callback) => request('POST', `/customers/${enc(customerId)}/callbacks`, callback);
/** Closes a follow-up, done (true) or cancelled (false). */
export const closeFollowUp = (id, done) => request('POST', `/follow-ups/${enc(id)}/close`, { done });

/**
 * Reply in an email thread: `{client_id, body, to?, cc?, subject?}`. The hub stores it once per
 * client_id and answers 202 with the stored message (delivery "queued").
 */
export const sendEmail = (interactionId, reply) => request('POST', `/interactions/${enc(interactionId)}/emails`, reply);

/**
 * A reply in a messaging conversation the agent holds: `{client_id, body}`; 202 with the stored
 * message (delivery "queued"), whose delivery then follows on the socket.
 */
export const sendReply = (interactionId, reply) => request('POST', `/interactions/${enc(interactionId)}/messages`, reply);

/**
 * A new email to a customer: `{mailbox_id, to?, cc?, subject, body, client_id, attachments?}`. It
 * opens a thread that is the agent's at once; 202 with the stored message (409 no_room when the
 * agent holds as many email threads as they may).
 */
export const newEmail = (customerId, mail) => request('POST', `/customers/${enc(customerId)}/emails`, mail);

/** Every mailbox's `{id, address, display_name}`, for any agent. */
export const mailboxAddresses = () => request('GET', '/mailboxes/addresses');

/**
 * Uploads a file (a File or Blob with a name) for a mail; `onProgress(loaded)` hears how many
 * bytes went. Resolves to `{id, filename, content_type, size}`, the id to name in `attachments`.
 * XMLHttpRequest rather than fetch: only it reports an upload's progress.
 */
export function uploadFile(file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${BASE}/uploads?filename=${enc(file.name || 'attachment')}`);
    xhr.setRequestHeader('Accept', 'application/json');
    const token = getToken();
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onerror = () => reject(new ApiError(0, 'unavailable', 'the hub could not be reached'));
    xhr.onabort = () => reject(new ApiError(0, 'unavailable', 'aborted'));
    xhr.onload = () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
        return;
      }
      if (xhr.status === 401) onUnauthorized();
      // A proxy in front of the hub may refuse a large body with its own page, not our JSON.
      const code = (data && data.code) || (xhr.status === 413 ? 'too_large' : 'internal');
      reject(new ApiError(xhr.status, code, data && data.message));
    };
    xhr.send(file);
  });
}

export const listMailboxes = () => request('GET', '/mailboxes');
export const createMailbox = (spec) => request('POST', '/mailboxes', spec);
export const updateMailbox = (id, spec) => request('PUT', `/mailboxes/${enc(id)}`, spec);
export const deleteMailbox = (id) => request('DELETE', `/mailboxes/${enc(id)}`);
export const mailboxFailures = (id) => request('GET', `/mailboxes/${enc(id)}/failures`);

/** Messaging inboxes (admin): `{id, platform, name, queue_id, settings, created_at, webhook_path}`, never their secrets. */
export const listInboxes = () => request('GET', '/inboxes');
/** `{platform, name, queue_id, settings, secrets}`: 201 with the inbox, 400 naming what is missing, 409 for a name in use. */
export const createInbox = (spec) => request('POST', '/inboxes', spec);
export const deleteInbox = (id) => request('DELETE', `/inboxes/${enc(id)}`);
/**
 * Has the hub tell the platform where to post (`public_url` is the hub's address as the platform
 * reaches it): `{registered, url}` for Telegram; a 400 for WhatsApp, whose webhook is set by hand
 * in Meta's dashboard; the platform's reason when it refuses.
 */
export const registerWebhook = (id, publicUrl) => request('POST', `/inboxes/${enc(id)}/webhook`, { public_url: publicUrl });

/** An attachment's bytes as a Blob of `type` (the hub sends them as octet-stream, with the token). */
export async function attachmentBlob(id, type) {
  let res;
  try {
    res = await fetch(`${BASE}/attachments/${enc(id)}`, { headers: { Authorization: `Bearer ${getToken()}` } });
  } catch (e) {
    throw new ApiError(0, 'unavailable', e.message);
  }
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, res.status === 404 ? 'not_found' : res.status === 403 ? 'forbidden' : 'internal');
  const blob = await res.blob();
  return type ? new Blob([blob], { type }) : blob;
}

/** A file the hub makes to download (a transcript, an export) as a Blob, with the name it gives. */
async function download(path, fallback) {
  let res;
  try {
    res = await fetch(`${BASE}${path}`, { headers: { Authorization: `Bearer ${getToken()}` } });
  } catch (e) {
    throw new ApiError(0, 'unavailable', e.message);
  }
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, res.status === 404 ? 'not_found' : res.status === 403 ? 'forbidden' : 'internal');
  const named = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '');
  return { blob: await res.blob(), filename: named ? named[1] : fallback };
}

/** A conversation's transcript (plain text), its own words in the console's language. */
export const transcript = (id, locale) => download(`/interactions/${enc(id)}/transcript?locale=${enc(locale)}`, 'conversation.txt');
/** The customers a search finds (all for an empty one) as CSV, for supervisors. */
export const exportCustomers = (q) => download(`/customers/export?q=${enc(q || '')}`, 'customers.csv');
export const exportSegment = (id) => download(`/customers/export?segment=${enc(id)}`, 'customers.csv');

/** A call's recording as an object URL for an <audio> element (the request needs the token). */
export async function recordingUrl(id) {
  const res = await fetch(`${BASE}/interactions/${enc(id)}/recording`, {
    headers: { Authorization: `Bearer ${getToken()}` },
  });
  if (!res.ok) throw new ApiError(res.status, res.status === 404 ? 'not_found' : 'internal');
  return URL.createObjectURL(await res.blob());
}

/** A report (`dimension`: queue, agent or channel) for the query string `reportQuery` makes. */
export const report = (dimension, query) => request('GET', `/reports/${enc(dimension)}?${query}`);
/** The same report as a CSV file (a Blob): the request needs the token, so no plain link. */
export async function reportCsv(dimension, query) {
  let res;
  try {
    res = await fetch(`${BASE}/reports/${enc(dimension)}?${query}&format=csv`, { headers: { Authorization: `Bearer ${getToken()}` } });
  } catch (e) {
    throw new ApiError(0, 'unavailable', e.message);
  }
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, res.status === 403 ? 'forbidden' : 'bad_request');
  return res.blob();
}
export const reportSettings = () => request('GET', '/reports/settings');
/** Ratings per agent and per queue over local days `from`–`to`. */
export const csatReport = (from, to) => request('GET', `/reports/csat?from=${enc(from)}&to=${enc(to)}`);
/** Each agent's KPIs over local days `from`–`to`. */
export const agentKpis = (from, to) => request('GET', `/reports/agent-kpis?from=${enc(from)}&to=${enc(to)}`);
/** The same as a CSV file (a Blob). */
export const agentKpisCsv = (from, to) => reportCsv('agent-kpis', `from=${enc(from)}&to=${enc(to)}`);
/** `{contacts, interval_secs, aht_secs, target, threshold_secs, patience_secs?}` → agents needed and neighbours. */
export const whatIf = (load) => request('POST', '/staffing/what-if', load);
/** Agents a queue needed per interval next to those staffed. */
export const staffing = (queueId, query) => request('GET', `/staffing/${enc(queueId)}?${query}`);

// The pipeline: lifecycle stages and opportunities.
export const pipelineSettings = () => request('GET', '/pipeline/settings');
export const setPipelineSettings = (settings) => request('PUT', '/pipeline/settings', settings);
export const setCustomerStage = (customerId, stage) => request('PUT', `/customers/${enc(customerId)}/stage`, { stage });
export const pipelineBoard = (owner) => request('GET', owner ? `/opportunities?owner=${enc(owner)}` : '/opportunities');
export const customerOpportunities = (customerId) => request('GET', `/customers/${enc(customerId)}/opportunities`);
export const createOpportunity = (customerId, opportunity) => request('POST', `/customers/${enc(customerId)}/opportunities`, opportunity);
export const moveOpportunity = (id, stage, from) => request('POST', `/opportunities/${enc(id)}/move`, { stage, from });
export const tickOpportunity = (id, item, done) => request('POST', `/opportunities/${enc(id)}/checklist`, { item, done });
