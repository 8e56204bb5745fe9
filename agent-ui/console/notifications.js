// Desktop notifications through the browser's Notification API: the permission is asked only
// from the agent's click on the setting (browsers ignore a request without a gesture, and ask
// once: their answer is kept), and a notification is shown only while the tab is hidden.

import { t, label } from './i18n.js';

const supported = () => typeof window !== 'undefined' && 'Notification' in window;

/** "granted" | "denied" | "default" | "unsupported". */
export function permission() {
  return supported() ? Notification.permission : 'unsupported';
}

/** Asks for the permission if it was never answered; resolves to the permission after. */
export async function askPermission() {
  if (!supported()) return 'unsupported';
  if (Notification.permission !== 'default') return Notification.permission;
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/**
 * Shows one announcement (attention.js). A conversation's notifications share a tag, so a new
 * message replaces the previous one instead of stacking; a click brings the console forward.
 */
export function notify(item, onClick) {
  if (permission() !== 'granted') return;
  const title = item.kind === 'offer'
    ? t('attention.notify_offer', { channel: label('channel', item.channel), name: item.name })
    : item.kind === 'mention'
      ? t('notes.mentioned', { name: item.name })
      : t('attention.notify_message', { name: item.name });
  const body = item.kind === 'offer' ? t('attention.notify_offer_body') : item.body;
  try {
    const n = new Notification(title, { body, tag: `${item.kind}:${item.id}`, icon: '/favicon.svg' });
    n.onclick = () => {
      window.focus();
      onClick(item);
      n.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker; the title still shows it.
  }
}
