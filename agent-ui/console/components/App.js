// The root: the login screen, or a session once the agent has a token. Owns the locale so a
// change re-renders every string.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { setLocale, normalizeLocale } from '../i18n.js';
import { Login } from './Login.js';
import { Session } from './Session.js';

export function App() {
  const [token, setTokenState] = useState(api.getToken());
  const [locale, setLocaleState] = useState(() => setLocale(navigator.language));

  function changeLocale(tag) {
    setLocaleState(setLocale(normalizeLocale(tag)));
  }

  function signedOut() {
    api.setToken(null);
    setTokenState(null);
  }

  useEffect(() => {
    api.setUnauthorizedHandler(signedOut);
  }, []);

  if (!token) {
    return html`<${Login}
      locale=${locale}
      onLocale=${changeLocale}
      onLoggedIn=${(res) => {
        api.setToken(res.token);
        if (res.agent && res.agent.locale) changeLocale(res.agent.locale);
        setTokenState(res.token);
      }}
    />`;
  }
  return html`<${Session}
    key=${token}
    token=${token}
    locale=${locale}
    onLocale=${changeLocale}
    onSignedOut=${signedOut}
  />`;
}
