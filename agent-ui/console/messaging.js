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
