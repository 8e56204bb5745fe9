// The agent's main page: offers waiting for an answer, the chats, calls and email threads held,
// the selected one (an email thread in its own pane) and the card of its customer; above it all, a
// colleague's call the agent is consulted about.
import { html } from '../html.js';
import { t } from '../i18n.js';
import { OfferList } from './OfferList.js';
import { InteractionList } from './InteractionList.js';
import { ChatPane } from './ChatPane.js';
import { EmailPane } from './EmailPane.js';
import { isEmail } from '../email.js';
import { CustomerCard } from './CustomerCard.js';
import { queuedAction } from '../state.js';
import { ConsultedCard } from './ConsultControl.js';

export function Workspace({ state, actions, queues, queueName, dispositionName, ownAddresses, softphone, onDial }) {
  const selected = state.selected ? state.held[state.selected] : null;
  return html`
    <div class="workspace">
      <h1 class="visually-hidden">${t('nav.workspace')}</h1>
      <aside class="column column-left" aria-label=${t('workspace.list_label')}>
        <${OfferList} offers=${state.offerOrder.map((id) => state.offers[id])} queueName=${queueName}
          queuedFor=${(id) => queuedAction(state, id, 'offer')} onAccept=${actions.accept} onDecline=${actions.decline} answerHere=${Boolean(softphone)} />
        <${InteractionList} state=${state} onSelect=${actions.select} />
      </aside>
      <section class="column column-main">
        ${state.consulted && html`<${ConsultedCard} consulted=${state.consulted}
          onLeave=${() => actions.consult(state.consulted.interaction_id, 'end')} />`}
        ${selected && isEmail(selected.interaction)
          ? html`<${EmailPane} key=${selected.interaction.id} state=${state} entry=${selected} actions=${actions} queues=${queues} queueName=${queueName} ownAddresses=${ownAddresses} />`
          : selected
          ? html`<${ChatPane} key=${selected.interaction.id} state=${state} entry=${selected} actions=${actions} queues=${queues} queueName=${queueName} softphone=${softphone} onDial=${onDial} />`
          : html`<div class="empty-state" data-testid="no-chat">
              <p class="empty-title">${t('workspace.empty_title')}</p>
              <p class="muted">${state.agentState.state === 'available' ? t('workspace.empty_available') : t('workspace.empty_unavailable')}</p>
            </div>`}
      </section>
      <aside class="column column-right" aria-label=${t('workspace.card_label')}>
        ${selected && html`<${CustomerCard} card=${selected.card} interactionId=${selected.interaction.id}
          queueName=${queueName} dispositionName=${dispositionName} onAddNote=${actions.addNote} onLink=${actions.linkCustomer} />`}
      </aside>
    </div>
  `;
}
