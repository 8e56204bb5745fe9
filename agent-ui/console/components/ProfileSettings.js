// The agent's own page: the name and picture customers see in the chat widget instead of their
// legal name. A picture is cut to its middle square and scaled to 128 pixels here, so what the
// hub keeps is a few KiB whatever the camera made.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import * as api from '../api.js';
import { AVATAR_SIDE, avatarSrc, centreSquare } from '../people.js';

const MAX_DISPLAY_NAME_CHARS = 40;

/** The picture in `file` as a square JPEG of AVATAR_SIDE pixels. */
async function scaled(file) {
  const bitmap = await createImageBitmap(file);
  const { x, y, side } = centreSquare(bitmap.width, bitmap.height);
  const canvas = document.createElement('canvas');
  canvas.width = AVATAR_SIDE;
  canvas.height = AVATAR_SIDE;
  canvas.getContext('2d').drawImage(bitmap, x, y, side, side, 0, 0, AVATAR_SIDE, AVATAR_SIDE);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('not encoded'))), 'image/jpeg', 0.85));
}

export function ProfileSettings({ me, onChanged }) {
  const [name, setName] = useState((me && me.display_name) || '');
  const [status, setStatus] = useState(null);
  const [busy, setBusy] = useState(false);
  if (!me) return null;
  const firstName = me.name.split(/\s+/)[0];
  const shown = name.trim() || firstName;
  const picture = avatarSrc({ avatar: me.avatar_at ? `/avatars/${me.id}?v=${me.avatar_at}` : null });

  const run = async (work) => {
    setBusy(true);
    setStatus(null);
    try {
      onChanged(await work());
      setStatus({ ok: true, text: t('profile.saved') });
    } catch (err) {
      setStatus({ ok: false, text: err && err.code ? label('error', err.code) : t('profile.bad_picture') });
    } finally {
      setBusy(false);
    }
  };
  const save = (e) => {
    e.preventDefault();
    run(() => api.updateMe({ display_name: name.trim() }));
  };
  const pick = (e) => {
    const file = e.currentTarget.files && e.currentTarget.files[0];
    e.currentTarget.value = '';
    if (file) run(async () => api.setAvatar(await scaled(file)));
  };

  return html`
    <div class="narrow-page profile" data-testid="profile">
      <h1>${t('profile.title')}</h1>
      <div class="profile-preview" data-testid="profile-preview">
        ${picture ? html`<img class="face face-large" src=${picture} alt=${t('profile.picture')} width="64" height="64" data-testid="profile-avatar" />`
          : html`<span class="face face-large face-empty" aria-hidden="true">${shown.slice(0, 1)}</span>`}
        <div>
          <p>${t('profile.preview', { name: shown })}</p>
          <div class="profile-picture">
            <label class="button-like"><span>${t('profile.choose_picture')}</span>
              <input type="file" accept="image/png,image/jpeg,image/webp" class="visually-hidden" onChange=${pick} disabled=${busy} data-testid="profile-picture" /></label>
            ${picture && html`<button type="button" class="link" disabled=${busy} onClick=${() => run(() => api.removeAvatar())} data-testid="profile-remove-picture">${t('profile.remove_picture')}</button>`}
          </div>
        </div>
      </div>
      <form class="edit-form" onSubmit=${save}>
        <label><span>${t('profile.display_name')}</span>
          <input value=${name} maxlength=${MAX_DISPLAY_NAME_CHARS} onInput=${(e) => setName(e.currentTarget.value)}
            placeholder=${firstName} data-testid="profile-display-name" /></label>
        <p class="muted small-text">${t('profile.display_name_hint', { name: firstName })}</p>
        <button class="primary profile-save" type="submit" disabled=${busy} data-testid="profile-save">${t('profile.save')}</button>
      </form>
      ${status && html`<p class=${status.ok ? 'notice' : 'form-error'} role=${status.ok ? 'status' : 'alert'} data-testid="profile-status">${status.text}</p>`}
    </div>
  `;
}
