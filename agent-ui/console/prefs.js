// The agent's attention settings in this browser (localStorage): desktop notifications and the
// ring sound. Per browser, not per profile: permission to notify is the browser's too.

const KEY = 'plugboard.attention';

export const DEFAULT_PREFS = { notify: false, sound: true };

/** The settings kept in `storage`, each missing or unreadable one at its default. */
export function loadPrefs(storage) {
  try {
    const saved = JSON.parse(storage.getItem(KEY) || '{}');
    return {
      notify: typeof saved.notify === 'boolean' ? saved.notify : DEFAULT_PREFS.notify,
      sound: typeof saved.sound === 'boolean' ? saved.sound : DEFAULT_PREFS.sound,
    };
  } catch {
    return { ...DEFAULT_PREFS };
  }
}

export function savePrefs(storage, prefs) {
  try {
    storage.setItem(KEY, JSON.stringify({ notify: Boolean(prefs.notify), sound: Boolean(prefs.sound) }));
  } catch {
    // Storage full or refused (private mode): the setting holds until the page is reloaded.
  }
}
