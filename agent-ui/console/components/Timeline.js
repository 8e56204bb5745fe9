// Every interaction of a customer, newest first: channel, how it ended, its messages and events,
// a call's talk and hold time with its recording (and each agent's part of a transferred call),
// a voicemail's message (a callback's number instead: nobody left a message), and an email
// thread's mails as the workspace shows them.
import { html } from '../html.js';
import { t, label, formatDateTime, formatTime } from '../i18n.js';
import { mailOf, threadSubject, filedKind } from '../email.js';
import { EmailCard } from './EmailCard.js';
import { Recording } from './Recording.js';
import { AgentAuthor, usePeople } from './People.js';
import { TranscriptButton } from './TranscriptButton.js';

function seconds(ms) {
  return Math.round((ms || 0) / 1000);
}

/** An event as a line of the log: its label, for a filed mail why it was not routed, and for an
 * intervention who made it. */
function eventText(e) {
  const name = label('event', e.type);
  if (e.type === 'customer.linked' && e.data) {
    return t('event.customer.linked_by', { agent: e.data.agent_name || '', from: (e.data.from && e.data.from.name) || '', into: (e.data.into && e.data.into.name) || '' });
  }
  if (e.type === 'interaction.filed') {
    const reason = e.data && e.data.reason;
    return `${name}: ${t(`filed.${filedKind(reason)}`)}${reason ? ` (${reason})` : ''}`;
  }
  // A snooze says until when and who; the wake why; an agent's reopening who.
  if (e.type === 'interaction.snoozed' && e.data && e.data.until) {
    return t('event.interaction.snoozed_until', { time: formatDateTime(e.data.until), name: e.data.by_name || '' });
  }
  if (e.type === 'interaction.woken' && e.data && e.data.reason) {
    return t(e.data.reason === 'due' ? 'event.interaction.woken_due' : 'event.interaction.woken_customer');
  }
  if (e.type === 'interaction.reopened' && e.data && e.data.by_name) {
    return t('event.interaction.reopened_by', { name: e.data.by_name });
  }
  // A supervisor on a call says how they took part, and who they were.
  if (e.type === 'call.monitored' && e.data && e.data.mode) {
    return t('event.by', { event: t(`monitor.logged.${e.data.mode}`), name: e.data.by_name || '' });
  }
  // A supervisor's intervention (moved, watched, left a call) says who.
  if (e.data && e.data.by_name) return t('event.by', { event: name, name: e.data.by_name });
  return name;
}

export function Timeline({ entries, queueName, dispositionName, customerName }) {
  const people = usePeople(entries.flatMap((e) => e.messages || []));
  if (!entries.length) return html`<p class="muted">${t('timeline.none')}</p>`;
  return html`
    <ol class="timeline">
      ${entries.map(({ interaction: i, messages, events, csat }) => html`
        <li key=${i.id} class="timeline-entry" data-testid="timeline-entry" data-interaction-id=${i.id}
          data-state=${i.state} data-disposition=${i.disposition || ''}>
          <header class="timeline-head">
            <span class=${`channel-icon channel-${i.channel}`}>${label('channel', i.channel)}</span>
            <span>${formatDateTime(i.arrived_at)}</span>
            <span class="muted">${queueName(i.queue_id)}</span>
            <span class=${`badge badge-${i.state}`} data-testid="timeline-state">${label('istate', i.state)}</span>
            ${i.offline && html`<span class="badge" data-testid="timeline-offline">${t(i.callback ? 'timeline.callback' : i.channel === 'voice' ? 'timeline.voicemail' : 'timeline.offline')}</span>`}
            ${i.disposition && html`<span class="badge badge-disposition" data-testid="timeline-disposition">${dispositionName(i.disposition)}</span>`}
            ${csat && html`<span class="badge badge-csat" data-testid="timeline-csat" data-score=${csat.score}>${t('timeline.csat', { score: csat.score })}</span>`}
          </header>
          ${csat && csat.comment && html`<p class="csat-comment" data-testid="timeline-csat-comment">“${csat.comment}”</p>`}
          ${i.channel === 'email' && threadSubject(messages) && html`<p class="timeline-subject" data-testid="timeline-subject">${threadSubject(messages)}</p>`}
          ${i.wrap_up_note && html`<p class="wrapup-note">${i.wrap_up_note}</p>`}
          ${i.callback && html`<p class="muted small-text" data-testid="timeline-callback">${t('callback.to', { number: i.callback.number, attempts: i.callback.attempts })}</p>`}
          ${i.channel === 'voice' && i.offline && !i.callback && html`<div class="call-summary" data-testid="timeline-voicemail"><${Recording} id=${i.id} /></div>`}
          ${(events || []).filter((e) => e.type === 'call.ended' && e.data && e.data.talk_ms !== undefined).map((e) => html`
            <div key=${e.id} class="call-summary" data-testid="call-summary">
              ${t('call.summary', { talk: seconds(e.data.talk_ms), hold: seconds(e.data.hold_ms) })}
              ${' '}${e.data.recording && html`<${Recording} id=${i.id} />`}
              ${e.data.legs && e.data.legs.length > 1 && html`
                <ol class="call-legs small-text" data-testid="call-legs">
                  ${e.data.legs.map((leg, n) => html`<li key=${n}>${t('call.leg', { n: n + 1, talk: seconds(leg.talk_ms), hold: seconds(leg.hold_ms) })}</li>`)}
                </ol>`}
            </div>`)}
          ${messages && messages.length > 0 && (i.channel === 'chat' || i.channel === 'messaging') && html`<${TranscriptButton} interactionId=${i.id} />`}
          ${messages && messages.length > 0 && html`
            <details class="timeline-messages">
              <summary data-testid="timeline-toggle">${t('timeline.messages', { n: messages.length })}</summary>
              <ol>
                ${messages.map((m) => (mailOf(m)
                  ? html`<li key=${m.id} class="tl-mail"><${EmailCard} message=${m} customerName=${customerName} /></li>`
                  : html`
                  <li key=${m.id} class=${`tl-message tl-${m.sender}`}>
                    <span class="muted small-text">${formatTime(m.created_at)} · ${m.sender === 'agent' ? html`<${AgentAuthor} id=${m.agent_id} people=${people} />` : m.sender === 'customer' ? (customerName || label('sender', m.sender)) : label('sender', m.sender)}</span>
                    <div class="message-body">${m.body}</div>
                  </li>`))}
              </ol>
            </details>`}
          ${events && events.length > 0 && html`
            <details class="timeline-events">
              <summary>${t('timeline.events', { n: events.length })}</summary>
              <ul>${events.map((e) => html`<li key=${e.id} data-testid="timeline-event" data-type=${e.type}><span class="muted small-text">${formatTime(e.at)}</span> ${eventText(e)}</li>`)}</ul>
            </details>`}
        </li>`)}
    </ol>
  `;
}
