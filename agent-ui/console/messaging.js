// Messaging apps' rules the agent must know, read from the conversation's messages. Pure.

/**
 * The reply window of a messaging conversation: WhatsApp delivers free text only within 24 hours
 * of the customer's last message, WeChat within 48. From the newest customer message that says
 * (`channel.details.reply_window`): `{closesAt, hours, open}`, or null when the platform has none.
 */
export function replyWindow(messages, now) {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const m = messages[i];
    if (m.sender !== 'customer') continue;
    const w = m.channel && m.channel.details && m.channel.details.reply_window;
    if (!w || typeof w.closes_at !== 'number') continue;
    return { closesAt: w.closes_at, hours: w.hours, open: now < w.closes_at };
  }
  return null;
}

/** Only WhatsApp (its 24-hour window) takes an approved template once the window has closed. */
export const takesTemplates = (window) => Boolean(window && window.hours === 24);

/**
 * What POST /interactions/{id}/messages takes for a template typed as name, language and the
 * body's values one per line (empty lines dropped); null when the name or language is missing.
 */
export function templateSpec(name, language, paramsText) {
  const n = name.trim();
  const l = language.trim();
  if (!n || !l) return null;
  const params = paramsText.split('\n').map((p) => p.trim()).filter(Boolean);
  return { name: n, language: l, params };
}

/** What the console shows for a type: an image inline, audio to play, video to play, or a file. */
export function mediaKind(contentType) {
  const type = String(contentType || '').toLowerCase();
  if (type.startsWith('image/') && type !== 'image/svg+xml') return 'image';
  if (type.startsWith('audio/')) return 'audio';
  if (type.startsWith('video/')) return 'video';
  return 'file';
}

/**
 * The files a messaging app's message names (`channel.details.media`), each as the console shows
 * it: `{key, state, kind, attachment, reason}`. `state` is "fetching" (the hub is getting it;
 * `reason` says why the last attempt failed, if one did), "failed" (`reason` is why), or "kept"
 * (`attachment` is the file the hub serves; `kind` how to show it). A file sent in a web chat
 * is kept with its message from the start: its attachments, each kept.
 */
export function mediaItems(message) {
  const channel = message && message.channel;
  const media = channel && channel.details && Array.isArray(channel.details.media) ? channel.details.media : [];
  const retry = channel && channel.details && channel.details.media_retry;
  const attachments = (channel && channel.attachments) || [];
  if (!media.length) return attachments.map((a) => ({ key: a.id, state: 'kept', kind: mediaKind(a.content_type), attachment: a, reason: null }));
  return media.map((m, i) => {
    const key = `${i}:${m.id || ''}`;
    if (m.error) return { key, state: 'failed', kind: null, attachment: null, reason: m.error };
    const attachment = m.attachment_id && attachments.find((a) => a.id === m.attachment_id);
    if (attachment) return { key, state: 'kept', kind: mediaKind(attachment.content_type), attachment, reason: null };
    return { key, state: 'fetching', kind: null, attachment: null, reason: (retry && retry.reason) || null };
  });
}
