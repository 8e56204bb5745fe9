// A conversation a supervisor watches read-only (#/watch/<id>): its messages from either side as
// they come, with nothing to type into. Session asks the hub over the socket (`conversation.watch`)
// and hands the `watched` conversation down; the hub logs who watched on the interaction.
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import { MessageList } from './MessageList.js';

export function WatchView({ watched, id }) {
  const here = watched && watched.interaction.id === id ? watched : null;
  if (!here) return html`<div class="narrow-page"><p class="muted" data-testid="watch-loading">${t('common.loading')}</p></div>`;
  const i = here.interaction;
  return html`
    <div class="narrow-page watch-page" data-testid="watch-view" data-interaction-id=${i.id}>
      <div class="watch-head">
        <h1>${t('watch.title')}</h1>
        <a href="#/inbox">${t('watch.back')}</a>
      </div>
      <p class="watch-banner" role="status" data-testid="watch-banner">${t('watch.read_only')}</p>
      <p class="muted small-text">${label('channel', i.channel)} · <span data-testid="watch-state">${label('istate', i.state)}</span></p>
      <${MessageList} messages=${here.messages} />
    </div>
  `;
}
