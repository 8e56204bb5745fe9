// The offers ringing for this agent, newest last.
import { html } from '../html.js';
import { t } from '../i18n.js';
import { OfferCard } from './OfferCard.js';

export function OfferList({ offers, queueName, queuedFor, onAccept, onDecline, answerHere }) {
  if (!offers.length) return null;
  return html`
    <section class="offers" aria-label=${t('offer.title')}>
      ${offers.map((o) => html`<${OfferCard} key=${o.interaction.id} offer=${o} queueName=${queueName} queued=${queuedFor(o.interaction.id)} onAccept=${onAccept} onDecline=${onDecline} answerHere=${answerHere} />`)}
    </section>
  `;
}
