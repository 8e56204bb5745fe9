// The account's agents as the console names authors (people.js), handed down from Session to
// whatever shows a message or a note, and an author's name with their picture.
import { createContext } from 'preact';
import { useContext, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { agentOf, avatarSrc, unknownIds } from '../people.js';

/** `{ me, names, refresh(ids) }`: `refresh` loads the list again for authors it lacks. */
export const People = createContext({ me: null, names: {}, refresh: () => {} });

/** The people, loading the list again when `items` name an author it does not know yet. */
export function usePeople(items) {
  const people = useContext(People);
  const missing = unknownIds(items, people);
  useEffect(() => {
    if (missing.length) people.refresh(missing);
  }, [missing.join(','), people]);
  return people;
}

/** An agent's picture (when they have one) and name: "You" for the agent reading. */
export function AgentAuthor({ id, people }) {
  const author = agentOf(id, people);
  const src = avatarSrc(author);
  return html`<span class="author" data-testid="author" data-agent-id=${id || ''}>${src && html`<img class="face" src=${src} alt="" width="18" height="18" />`}${author ? (author.me ? t('chat.you') : author.name) : t('chat.colleague')}</span>`;
}
