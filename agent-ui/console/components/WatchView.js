// A conversation a supervisor watches read-only (#/watch/<id>): its messages from either side as
// they come, with nothing to type into. Session asks the hub over the socket (`conversation.watch`)
// and hands the `watched` conversation down; the hub logs who watched on the interaction. A call
// connected to an agent can be listened to from here (`call.monitor`): silently, whispering to
// the agent, or on the call with both, on the supervisor's desk phone or in this browser.
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import { MessageList } from './MessageList.js';

const MODES = ['monitor', 'whisper', 'barge'];

export function WatchView({ watched, id, listen }) {
  const here = watched && watched.interaction.id === id ? watched : null;
  if (!here) return html`<div class="narrow-page"><p class="muted" data-testid="watch-loading">${t('common.loading')}</p></div>`;
  const i = here.interaction;
  const call = i.channel === 'voice';
  return html`
    <div class="narrow-page watch-page" data-testid="watch-view" data-interaction-id=${i.id}>
      <div class="watch-head">
        <h1>${t('watch.title')}</h1>
        <a href="#/inbox">${t('watch.back')}</a>
      </div>
      ${!call && html`<p class="watch-banner" role="status" data-testid="watch-banner">${t('watch.read_only')}</p>`}
      <p class="muted small-text">${label('channel', i.channel)} · <span data-testid="watch-state">${label('istate', i.state)}</span></p>
      ${call && i.state === 'active' && listen && html`<${ListenIn} id=${i.id} listen=${listen} />`}
      ${!call && html`<${MessageList} messages=${here.messages} />`}
    </div>
  `;
}

/** The supervisor's controls on a live call: how to take part, and where they stand. */
function ListenIn({ id, listen }) {
  const { listening, status, device, onMode } = listen;
  const mine = listening && listening.id === id ? listening : null;
  let said = t('listen.off');
  if (mine && mine.on) said = t(`listen.on_${mine.mode}`);
  else if (mine) said = device === 'browser' ? t('listen.connecting') : t('listen.ringing');
  if (mine && device === 'browser' && status && status !== 'connecting' && status !== 'connected') said = t(`softphone.${status}`);
  return html`
    <section class="listen-in" data-testid="listen-in">
      <h2 class="section-title">${t('listen.title')}</h2>
      <p class="muted small-text">${t(device === 'browser' ? 'listen.from_browser' : 'listen.from_desk')}</p>
      <div class="listen-modes">
        ${MODES.map((mode) => html`<button key=${mode} data-testid=${`listen-${mode}`} aria-pressed=${mine && mine.mode === mode ? 'true' : 'false'}
          onClick=${() => onMode(id, mode)}>${t(`listen.${mode}`)}</button>`)}
        ${mine && html`<button class="danger-outline" data-testid="listen-leave" onClick=${() => onMode(id, null)}>${t('listen.leave')}</button>`}
      </div>
      <p class="listen-status" role="status" data-testid="listen-status" data-mode=${mine ? mine.mode : ''} data-on=${mine && mine.on ? 'true' : 'false'}>${said}</p>
    </section>
  `;
}
