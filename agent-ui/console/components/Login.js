// The login screen: email and password against POST /api/v1/auth/login.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { LocalePicker } from './LocalePicker.js';

export function Login({ locale, onLocale, onLoggedIn }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(ev) {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLoggedIn(await api.login(email.trim(), password));
    } catch (e) {
      setError(e.status === 401 ? t('login.bad_credentials') : e.status === 429 ? t('login.rate_limited') : t('error.generic'));
      setBusy(false);
    }
  }

  return html`
    <main class="login-screen">
      <form class="login-card" onSubmit=${submit} data-testid="login-form">
        <h1 class="brand brand-large"><span class="brand-mark"></span>${t('app.name')}</h1>
        <p class="muted">${t('login.subtitle')}</p>
        <label>
          <span>${t('login.email')}</span>
          <input type="email" autocomplete="username" required value=${email}
            onInput=${(e) => setEmail(e.currentTarget.value)} data-testid="login-email" />
        </label>
        <label>
          <span>${t('login.password')}</span>
          <input type="password" autocomplete="current-password" required value=${password}
            onInput=${(e) => setPassword(e.currentTarget.value)} data-testid="login-password" />
        </label>
        ${error && html`<p class="form-error" role="alert" data-testid="login-error">${error}</p>`}
        <button class="primary" type="submit" disabled=${busy} data-testid="login-submit">${t('login.submit')}</button>
        <div class="login-footer"><${LocalePicker} locale=${locale} onLocale=${onLocale} /></div>
      </form>
    </main>
  `;
}
