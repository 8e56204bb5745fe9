// A logged-in console: the /ws/agent socket, the model built from its frames (state.js), and the
// page the hash route asks for, and what reaches the agent beyond the page: the tab's title and
// favicon, desktop notifications, the ring and the keyboard shortcuts. Components below only render
// and call the actions passed down.
import { useState, useEffect, useReducer, useRef, useMemo } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { connect } from '../socket.js';
import { apply, initialState, unsent } from '../state.js';
import { attentionCounts, pageTitle, iconHref, announcements, spokenOffers } from '../attention.js';
import { loadPrefs, savePrefs } from '../prefs.js';
import { notify, askPermission, permission } from '../notifications.js';
import { shortcutFor, neighbour } from '../shortcuts.js';
import { parseRoute, customerHref } from '../route.js';
import { newId } from '../ids.js';
import { dispositionLabel } from '../i18n.js';
import { chime } from '../sound.js';
import { startCall } from '../softphone.js';
import { TopBar } from './TopBar.js';
import { ErrorBar } from './ErrorBar.js';
import { QueuedBanner } from './QueuedBanner.js';
import { ShortcutHelp } from './ShortcutHelp.js';
import { Reminders } from './Reminders.js';
import { Mentions } from './Mentions.js';
import { Workspace } from './Workspace.js';
import { CustomerSearch } from './CustomerSearch.js';
import { Inbox } from './Inbox.js';
import { WatchView } from './WatchView.js';
import { changesInbox, withWatchedMessage, withWatchedUpdate } from '../conversations.js';
import { CustomerProfile } from './CustomerProfile.js';
import { SupervisorView } from './SupervisorView.js';
import { ReportsView } from './ReportsView.js';
import { AdminQueues } from './AdminQueues.js';
import { AdminAgents } from './AdminAgents.js';
import { AdminDispositions } from './AdminDispositions.js';
import { AdminTeams } from './AdminTeams.js';
import { AdminPhones } from './AdminPhones.js';
import { AdminMailboxes } from './AdminMailboxes.js';
import { AdminInboxes } from './AdminInboxes.js';
import { AdminAudit } from './AdminAudit.js';
import { AdminFields } from './AdminFields.js';
import { Knowledge } from './Knowledge.js';
import { CannedResponses } from './CannedResponses.js';
import { PipelineBoard } from './PipelineBoard.js';
import { ProfileSettings } from './ProfileSettings.js';
import { People } from './People.js';
import { byId } from '../people.js';
import { parseAddressList } from '../email.js';
import { uploadIds } from '../attachments.js';

export function Session({ token, locale, onLocale, onSignedOut }) {
  const [state, dispatch] = useReducer(apply, undefined, initialState);
  const [route, setRoute] = useState(parseRoute(location.hash));
  const [me, setMe] = useState(null);
  // Every agent of the account by id, to name each message's and note's author (people.js).
  const [names, setNames] = useState({});
  const askedNames = useRef(new Set());
  const [queues, setQueues] = useState([]);
  const [snapshots, setSnapshots] = useState(0);
  // The account's mailboxes as any agent sees them ({id, address, display_name}): to write a new
  // email from one, and to leave the mailbox's own address out of a reply-all.
  const [mailboxes, setMailboxes] = useState([]);
  // Click-to-call needs a carrier trunk on the hub: without one, no call buttons.
  const [canDial, setCanDial] = useState(false);
  const socket = useRef(null);
  // The browser softphone's call (device "browser"): {id, call} while this console carries a
  // call's audio, its status by interaction, and whether the microphone is muted.
  const phone = useRef(null);
  const [phoneStatus, setPhoneStatus] = useState({});
  const [muted, setMuted] = useState(false);
  // The keys sent on each call from the keypad, as the agent pressed them.
  const [keysSent, setKeysSent] = useState({});
  const [prefs, setPrefsState] = useState(() => loadPrefs(localStorage));
  const [notifyPermission, setNotifyPermission] = useState(permission);
  const [help, setHelp] = useState(false);
  // Counts socket frames after which the inbox may have changed: the inbox page reads it again.
  const [inboxTick, setInboxTick] = useState(0);
  // Counts `pipeline.changed` frames: the pipeline board reads itself again.
  const [pipelineTick, setPipelineTick] = useState(0);
  // The conversation a supervisor watches read-only ({interaction, messages}), on #/watch/<id>.
  const [watched, setWatched] = useState(null);
  // The call a supervisor listens to ({id, mode, on}: on once their phone or browser is on the
  // call), its browser leg when their device is the browser, and that leg's status.
  const [listening, setListening] = useState(null);
  const listeningNow = useRef(null);
  listeningNow.current = listening;
  // The browser leg of a supervisor listening in, or of a colleague consulted (device browser).
  const listenLeg = useRef(null);
  const deviceNow = useRef('desk');
  const [listenStatus, setListenStatus] = useState(null);
  const stopListenLeg = () => {
    if (listenLeg.current) listenLeg.current.call.stop();
    listenLeg.current = null;
    setListenStatus(null);
  };
  // The model before the latest change, to tell what is new (attention.js).
  const previous = useRef(state);
  // The live region's line: the newest offers, read out by screen readers as they ring.
  const [offerSaid, setOfferSaid] = useState('');
  // The model as last rendered, for actions that run after an await.
  const latest = useRef(state);
  latest.current = state;

  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    api.me().then((agent) => {
      setMe(agent);
      if (agent.locale) onLocale(agent.locale);
    }).catch(() => {});
    api.agentNames().then((list) => setNames(byId(list))).catch(() => {});
    api.mailboxAddresses().then(setMailboxes).catch(() => {});
    api.calling().then((c) => setCanDial(c.click_to_call === true)).catch(() => {});
    api.listQueues().then(setQueues).catch(() => {});
    socket.current = connect('/ws/agent', token, {
      onFrame: (frame) => {
        const call = phone.current;
        if (call && frame.type === 'call.media.answer' && frame.interaction_id === call.id) call.call.answer(frame.sdp);
        if (call && frame.type === 'error' && frame.code === 'call_media' && frame.ref === call.id) {
          setPhoneStatus((s) => ({ ...s, [call.id]: 'failed' }));
        }
        const leg = listenLeg.current;
        if (leg && frame.type === 'call.media.answer' && frame.interaction_id === leg.id) leg.call.answer(frame.sdp);
        // A supervisor's own listening (on a call they hold it is the agent's banner, state.js).
        // Consulted with the browser as the device: this console joins with its audio, and lets
        // go when the consult is over (unless the call became this agent's: see the softphone).
        if (frame.type === 'call.consult' && !latest.current.held[frame.interaction_id]) {
          const id = frame.interaction_id;
          if (frame.mode && !frame.on && deviceNow.current === 'browser' && !listenLeg.current) {
            const call = startCall(id, {
              send: (f) => Boolean(socket.current && socket.current.send(f)),
              onStatus: (status) => {
                setListenStatus(status);
                setPhoneStatus((s) => ({ ...s, [id]: status }));
              },
              offerFrame: (sdp) => ({ type: 'call.consult', interaction_id: id, step: 'join', sdp }),
            });
            listenLeg.current = { id, call };
          }
          if (!frame.mode && listenLeg.current && listenLeg.current.id === id && !latest.current.held[id]) stopListenLeg();
        }
        if (frame.type === 'call.monitor' && !latest.current.held[frame.interaction_id]) {
          setListening(frame.mode ? { id: frame.interaction_id, mode: frame.mode, on: true } : null);
          if (!frame.mode) stopListenLeg();
        }
        const asked = listeningNow.current;
        if (frame.type === 'error' && frame.code === 'call_monitor' && asked && asked.id === frame.ref && !asked.on) {
          setListening(null);
          stopListenLeg();
        }
        if (frame.type === 'watched') setWatched({ interaction: frame.interaction, messages: frame.messages });
        if (frame.type === 'watched.message') setWatched((w) => withWatchedMessage(w, frame.message));
        if (frame.type === 'watched.updated') setWatched((w) => withWatchedUpdate(w, frame.interaction));
        dispatch(frame);
        if (frame.type === 'snapshot') setSnapshots((n) => n + 1);
        if (changesInbox(frame)) setInboxTick((n) => n + 1);
        if (frame.type === 'pipeline.changed') setPipelineTick((n) => n + 1);
      },
      onStatus: (status) => dispatch({ type: 'local.connection', status }),
      onUnauthorized: onSignedOut,
    });
    return () => {
      socket.current.close();
      if (phone.current) phone.current.call.stop();
      phone.current = null;
      stopListenLeg();
    };
  }, [token]);

  // With the browser as the agent's phone: a call they hold (accepted, talking) gets this
  // console's audio (a voicemail has no caller to talk to; a callback is called once accepted); a
  // call that ended (or went elsewhere) lets the microphone go.
  const device = me ? me.device : 'desk';
  deviceNow.current = device;
  const talking = Object.values(state.held)
    .filter((h) => h.interaction.channel === 'voice' && (!h.interaction.offline || h.interaction.callback)
      && h.interaction.state === 'active')
    .map((h) => h.interaction.id);
  const talkingKey = talking.join(',');
  useEffect(() => {
    const current = phone.current;
    if (current && (!talking.includes(current.id) || device !== 'browser')) {
      current.call.stop();
      phone.current = null;
      setMuted(false);
    }
    // A call handed over by the agent who consulted us goes on over the consult's leg.
    const handed = listenLeg.current;
    if (!phone.current && handed && talking.includes(handed.id)) {
      phone.current = handed;
      listenLeg.current = null;
    }
    if (!phone.current && device === 'browser' && talking.length && snapshots) {
      const id = talking[0];
      const call = startCall(id, {
        send: (frame) => Boolean(socket.current && socket.current.send(frame)),
        onStatus: (status) => setPhoneStatus((s) => ({ ...s, [id]: status })),
      });
      phone.current = { id, call };
    }
  }, [talkingKey, device, snapshots]);

  // After every snapshot: take the profile's locale, resend what was never acknowledged (the
  // server stores each client_id once, so a resend cannot duplicate), and send the actions queued
  // while the socket was down that the snapshot says still apply (state.js dropped the others).
  useEffect(() => {
    if (!snapshots) return;
    if (state.agent && state.agent.locale) onLocale(state.agent.locale);
    for (const p of unsent(state)) socket.current.send({ type: 'message', interaction_id: p.interaction_id, client_id: p.client_id, body: p.body, ...(p.attachments ? { attachments: p.attachments } : {}) });
    const keys = [];
    for (const a of state.actions) {
      if (!socket.current.send(a.frame)) break;
      keys.push(a.key);
    }
    if (keys.length) dispatch({ type: 'local.acted', keys });
  }, [snapshots]);

  // The hub says when the inbox may have changed only while it is on screen; a new socket (after
  // a reconnect) is told again.
  useEffect(() => {
    if (snapshots) send({ type: 'conversations.watch', on: route.name === 'inbox' });
  }, [route.name, snapshots]);

  // A supervisor on #/watch/<id> watches that conversation; leaving the page stops it. A new
  // socket is asked again (the hub answers with the conversation as it stands).
  const watchId = route.name === 'watch' ? route.id : null;
  const wasWatching = useRef(false);
  useEffect(() => {
    if (!snapshots || (!watchId && !wasWatching.current)) return;
    wasWatching.current = Boolean(watchId);
    if (!watchId) setWatched(null);
    // Leaving the page leaves the call it listens to.
    const on = listeningNow.current;
    if (on && on.id !== watchId) actions.listen(on.id, null);
    send({ type: 'conversation.watch', interaction_id: watchId });
  }, [watchId, snapshots]);

  // What the agent has read of the conversation the workspace shows is the hub's too: the inbox's
  // unread counts are kept there, for every tab and the next login.
  const selectedEntry = state.selected ? state.held[state.selected] : null;
  const selectedSeen = selectedEntry ? selectedEntry.seen : 0;
  const onWorkspace = route.name === 'workspace';
  useEffect(() => {
    if (onWorkspace && state.selected && selectedSeen > 0) api.markRead(state.selected, selectedSeen).catch(() => {});
  }, [state.selected, selectedSeen, onWorkspace]);

  // Unread counts need to know whether the agent can see the page.
  useEffect(() => {
    const onVisibility = () => dispatch({ type: 'local.visibility', visible: document.visibilityState === 'visible' });
    onVisibility();
    document.addEventListener('visibilitychange', onVisibility);
    return () => document.removeEventListener('visibilitychange', onVisibility);
  }, []);

  // A new offer rings (if the agent wants the sound); while the tab is hidden, offers and new
  // customer messages in held conversations are also desktop notifications (if enabled).
  useEffect(() => {
    const news = announcements(previous.current, state);
    previous.current = state;
    if (!news.length) return;
    const spoken = spokenOffers(news);
    if (spoken) setOfferSaid(spoken);
    if (prefs.sound && news.some((n) => n.kind === 'offer')) chime();
    if (prefs.notify && document.visibilityState === 'hidden') {
      for (const item of news) {
        notify(item, (it) => {
          if (it.kind === 'mention') {
            location.hash = customerHref(it.customer_id);
            return;
          }
          if (it.kind === 'message') dispatch({ type: 'local.select', interaction_id: it.id });
          location.hash = '#/';
        });
      }
    }
  }, [state]);

  // The tab's title and favicon: ringing offers, else unread messages.
  const counts = attentionCounts(state);
  useEffect(() => {
    document.title = pageTitle(counts);
    const icon = document.querySelector('link[rel="icon"]');
    if (icon) icon.setAttribute('href', iconHref(counts));
  }, [counts.ringing, counts.unread, locale]);
  useEffect(() => () => {
    document.title = pageTitle({ ringing: 0, unread: 0 });
    const icon = document.querySelector('link[rel="icon"]');
    if (icon) icon.setAttribute('href', '/favicon.svg');
  }, []);

  function setPrefs(next) {
    setPrefsState(next);
    savePrefs(localStorage, next);
  }

  // Called from the checkbox's click, so the browser accepts the permission request.
  function setNotify(on) {
    if (!on) {
      setPrefs({ ...prefs, notify: false });
      return;
    }
    askPermission().then((p) => {
      setNotifyPermission(p);
      setPrefs({ ...prefs, notify: p === 'granted' });
    });
  }

  const send = (frame) => socket.current && socket.current.send(frame);
  // An action the socket cannot take now waits in the model, shown as queued, until the next
  // snapshot (see the effect above): never dropped unseen.
  const act = (frame) => {
    if (!send(frame)) dispatch({ type: 'local.act', frame });
  };
  const actions = {
    setState: (s, reason) => send(reason ? { type: 'state.set', state: s, reason } : { type: 'state.set', state: s }),
    accept: (id) => act({ type: 'offer.accept', interaction_id: id }),
    decline: (id) => act({ type: 'offer.decline', interaction_id: id }),
    select: (id) => dispatch({ type: 'local.select', interaction_id: id }),
    sendMessage: (id, body) => {
      const client_id = newId();
      const entry = latest.current.held[id];
      if (entry && entry.interaction.channel === 'messaging') {
        // Out through the platform: the hub queues it, and its delivery follows on the socket.
        dispatch({ type: 'local.send', interaction_id: id, client_id, body, at: Date.now(), rest: true });
        api.sendReply(id, { client_id, body })
          .then((message) => dispatch({ type: 'message', message }))
          .catch((e) => dispatch({ type: 'error', code: e.code, message: e.message, ref: client_id }));
        return;
      }
      dispatch({ type: 'local.send', interaction_id: id, client_id, body, at: Date.now() });
      send({ type: 'message', interaction_id: id, client_id, body });
    },
    // A file into a chat: uploaded first, then sent as a message naming it (pending, and resent
    // after a reconnect, like any line).
    sendFile: (id, file) => {
      api.uploadFile(file)
        .then((upload) => {
          const client_id = newId();
          dispatch({ type: 'local.send', interaction_id: id, client_id, body: '', at: Date.now(), attachments: [upload.id] });
          send({ type: 'message', interaction_id: id, client_id, body: '', attachments: [upload.id] });
        })
        .catch((e) => dispatch({ type: 'error', code: e.code, message: e.message }));
    },
    // An approved WhatsApp template, for a conversation whose 24 hours have passed.
    sendTemplate: (id, template) => {
      const client_id = newId();
      api.sendReply(id, { client_id, body: '', template })
        .then((message) => dispatch({ type: 'message', message }))
        .catch((e) => dispatch({ type: 'error', code: e.code, message: e.message }));
    },
    typing: (id, typing) => send({ type: 'typing', interaction_id: id, typing }),
    end: (id) => act({ type: 'interaction.end', interaction_id: id }),
    // `target` is "queue:<id>" or "agent:<id>".
    transfer: (id, target) => {
      const [kind, targetId] = target.split(':');
      act(kind === 'agent'
        ? { type: 'interaction.transfer', interaction_id: id, agent_id: targetId }
        : { type: 'interaction.transfer', interaction_id: id, queue_id: targetId });
    },
    hold: (id, on) => act({ type: 'call.hold', interaction_id: id, on }),
    // A step of consulting a colleague: "start" (with agent_id or queue_id, and a note),
    // "conference", "transfer", "end".
    consult: (id, step, more = {}) => {
      const frame = { type: 'call.consult', interaction_id: id, step };
      if (more.agent_id) frame.agent_id = more.agent_id;
      if (more.queue_id) frame.queue_id = more.queue_id;
      if (more.note && more.note.trim()) frame.note = more.note.trim();
      send(frame);
    },
    // A supervisor takes part in a call as `mode` ("monitor", "whisper", "barge"), or leaves it
    // (null): from this browser when it is their device (the offer in the frame), else their desk phone.
    listen: (id, mode) => {
      const now = listeningNow.current;
      if (!mode) {
        send({ type: 'call.monitor', interaction_id: id, mode: null });
        stopListenLeg();
        setListening(null);
        return;
      }
      if (now && now.id === id) {
        if (send({ type: 'call.monitor', interaction_id: id, mode })) setListening({ ...now, mode });
        return;
      }
      setListening({ id, mode, on: false });
      stopListenLeg();
      if (device !== 'browser') {
        if (!send({ type: 'call.monitor', interaction_id: id, mode })) setListening(null);
        return;
      }
      const call = startCall(id, {
        send: (frame) => Boolean(socket.current && socket.current.send(frame)),
        onStatus: setListenStatus,
        offerFrame: (sdp) => ({ type: 'call.monitor', interaction_id: id, mode, sdp }),
      });
      listenLeg.current = { id, call };
    },
    mute: (id, on) => {
      if (!phone.current || phone.current.id !== id) return;
      phone.current.call.mute(on);
      setMuted(on);
    },
    dial: (customerId) => send({ type: 'call.dial', customer_id: customerId }),
    dtmf: (id, key) => {
      if (send({ type: 'call.dtmf', interaction_id: id, digits: key })) setKeysSent((s) => ({ ...s, [id]: (s[id] || '') + key }));
    },
    wrapUp: (id, disposition, note) => act(note ? { type: 'wrap_up', interaction_id: id, disposition, note } : { type: 'wrap_up', interaction_id: id, disposition }),
    // No client_id to make a resend safe: while the socket is down the form keeps the text.
    addNote: (customerId, interactionId, body) => send(interactionId ? { type: 'note.add', customer_id: customerId, interaction_id: interactionId, body } : { type: 'note.add', customer_id: customerId, body }),
    // Answers a promise, so the card can say why a link did not happen.
    linkCustomer: (id, customerId) => api.linkCustomer(id, customerId)
      .then((card) => dispatch({ type: 'local.linked', interaction_id: id, card })),
    dismissError: (index) => dispatch({ type: 'local.dismiss_error', index }),
    emailDraft: (id, patch, defaults) => dispatch({ type: 'local.draft', interaction_id: id, patch, defaults }),
    emailForward: (id, messageId, subject, defaults) => dispatch({ type: 'local.forward', interaction_id: id, message_id: messageId, subject, defaults }),
    // Each file uploads at once, its progress and outcome kept on the draft.
    emailAttach: (id, files, defaults) => {
      const picked = files.map((file) => ({ file, key: newId() }));
      dispatch({ type: 'local.attach', interaction_id: id, defaults, files: picked.map(({ file, key }) => ({ key, name: file.name, size: file.size, type: file.type })) });
      for (const { file, key } of picked) {
        api.uploadFile(file, (loaded) => dispatch({ type: 'local.attach_progress', interaction_id: id, key, loaded }))
          .then((upload) => dispatch({ type: 'local.attached', interaction_id: id, key, upload }))
          .catch((e) => dispatch({ type: 'local.attach_failed', interaction_id: id, key, code: e.code, message: e.message }));
      }
    },
    emailDetach: (id, key) => dispatch({ type: 'local.detach', interaction_id: id, key }),
    // Posts the thread's draft. The client_id is the draft's own from an earlier try, else a new
    // one: a retry after a lost answer is the same reply to the hub.
    sendEmail: async (id) => {
      const draft = latest.current.drafts[id];
      if (!draft || draft.sending) return;
      const forward = draft.mode === 'forward' && draft.forward_of;
      const body = draft.body.trim();
      if (!body && !forward) return;
      const client_id = draft.client_id || newId();
      dispatch({ type: 'local.email_sending', interaction_id: id, client_id });
      const reply = { client_id, body };
      if (forward) reply.forward_of = draft.forward_of;
      const attachments = uploadIds(draft.attachments);
      if (attachments.length) reply.attachments = attachments;
      const to = parseAddressList(draft.to);
      const cc = parseAddressList(draft.cc);
      if (to.length) reply.to = to;
      if (cc.length) reply.cc = cc;
      if (draft.subject.trim()) reply.subject = draft.subject.trim();
      try {
        const message = await api.sendEmail(id, reply);
        dispatch({ type: 'local.email_sent', interaction_id: id, client_id, body, message, forward: Boolean(forward) });
      } catch (e) {
        dispatch({ type: 'local.email_failed', interaction_id: id, client_id, code: e.code, message: e.message });
      }
    },
  };

  // Keyboard shortcuts (shortcuts.js). The listener is added once and calls the newest handler.
  const onKey = useRef(null);
  onKey.current = (e) => {
    const action = shortcutFor(e);
    // Behind the open list, only `?` (which closes it) acts.
    if (!action || (help && action !== 'help')) return;
    const s = latest.current;
    const offer = s.offerOrder[0];
    const selected = s.selected ? s.held[s.selected] : null;
    const selectedState = selected ? selected.interaction.state : null;
    const toWorkspace = () => {
      if (parseRoute(location.hash).name !== 'workspace') location.hash = '#/';
    };
    switch (action) {
      case 'accept':
        if (!offer) return;
        actions.accept(offer);
        break;
      case 'decline':
        if (!offer) return;
        actions.decline(offer);
        break;
      case 'next':
      case 'previous': {
        const id = neighbour(s.heldOrder, s.selected, action === 'next' ? 1 : -1);
        if (!id) return;
        toWorkspace();
        actions.select(id);
        break;
      }
      case 'end':
        if (selectedState !== 'active') return;
        actions.end(s.selected);
        break;
      case 'wrapup':
        if (selectedState !== 'wrap_up') return;
        toWorkspace();
        focusSoon('[data-testid="wrapup-disposition"]');
        break;
      case 'composer':
        if (selectedState !== 'active') return;
        toWorkspace();
        focusSoon('[data-testid="composer-input"], [data-testid="email-body-input"]');
        break;
      case 'snooze':
        if (selectedState !== 'active') return;
        toWorkspace();
        focusSoon('[data-testid="snooze-choice"]');
        break;
      case 'search':
        location.hash = '#/customers';
        focusSoon('[data-testid="customer-search-input"]');
        break;
      case 'help':
        setHelp((open) => !open);
        break;
      default:
        return;
    }
    e.preventDefault();
  };
  useEffect(() => {
    const listener = (e) => onKey.current(e);
    addEventListener('keydown', listener);
    return () => removeEventListener('keydown', listener);
  }, []);

  const ownAddresses = (entryPoint) => mailboxes.filter((m) => `mailbox:${m.id}` === entryPoint).map((m) => m.address);

  async function changeLocale(tag) {
    onLocale(tag);
    try {
      setMe(await api.updateMe({ locale: tag }));
    } catch {
      // The console still switches; the profile keeps the old locale until the next try.
    }
  }

  async function changeDevice(next) {
    try {
      setMe(await api.updateMe({ device: next }));
    } catch (e) {
      dispatch({ type: 'error', code: e.code, message: e.message });
    }
  }

  async function logout() {
    try {
      await api.logout();
    } catch {
      // The session may already be gone; the token is dropped either way.
    }
    onSignedOut();
  }

  // An author the list lacks (a colleague added since): loaded again, once for each such id.
  const people = useMemo(() => ({
    me,
    names,
    refresh: (ids) => {
      const fresh = ids.filter((id) => !askedNames.current.has(id));
      if (!fresh.length) return;
      fresh.forEach((id) => askedNames.current.add(id));
      api.agentNames().then((list) => setNames(byId(list))).catch(() => {});
    },
  }), [me, names]);
  const profileChanged = (agent) => {
    setMe(agent);
    api.agentNames().then((list) => setNames(byId(list))).catch(() => {});
  };

  const closeReminder = (id) => dispatch({ type: 'local.reminder_closed', id });
  const role = (state.agent && state.agent.role) || (me && me.role) || 'agent';
  const agent = state.agent || me;
  const queueName = (id) => (queues.find((q) => q.id === id) || {}).name || '';
  const dispositionName = (code) => dispositionLabel(code, (state.dispositions.find((d) => d.code === code) || {}).label);

  let page;
  switch (route.name) {
    case 'inbox':
      page = html`<${Inbox} tick=${inboxTick} queues=${queues} heldIds=${state.heldOrder} supervising=${role === 'supervisor' || role === 'admin'}
        onOpenHeld=${(id) => { actions.select(id); location.hash = '#/'; }} />`;
      break;
    case 'watch':
      page = html`<${WatchView} watched=${watched} id=${route.id}
        listen=${{ listening, status: listenStatus, device, onMode: actions.listen }} />`;
      break;
    case 'customers':
      page = html`<${CustomerSearch} canReassign=${role !== 'agent'} />`;
      break;
    case 'customer':
      page = html`<${CustomerProfile} id=${route.id} me=${me} queues=${queues} queueName=${queueName} dispositionName=${dispositionName} onDial=${canDial ? actions.dial : null}
        mailboxes=${mailboxes} canReassign=${role !== 'agent'} key=${route.id} />`;
      break;
    case 'supervisor':
      page = html`<${SupervisorView} token=${token} />`;
      break;
    case 'reports':
      page = html`<${ReportsView} queues=${queues} />`;
      break;
    case 'admin-queues':
      page = html`<${AdminQueues} onChanged=${setQueues} />`;
      break;
    case 'admin-agents':
      page = html`<${AdminAgents} />`;
      break;
    case 'admin-teams':
      page = html`<${AdminTeams} queues=${queues} />`;
      break;
    case 'admin-dispositions':
      page = html`<${AdminDispositions} />`;
      break;
    case 'admin-phones':
      page = html`<${AdminPhones} />`;
      break;
    case 'admin-mailboxes':
      page = html`<${AdminMailboxes} queues=${queues} onChanged=${(list) => setMailboxes(list.map(({ id, address, display_name }) => ({ id, address, display_name })))} />`;
      break;
    case 'admin-inboxes':
      page = html`<${AdminInboxes} queues=${queues} />`;
      break;
    case 'admin-audit':
      page = html`<${AdminAudit} />`;
      break;
    case 'pipeline':
      page = html`<${PipelineBoard} tick=${pipelineTick} />`;
      break;
    case 'admin-fields':
      page = html`<${AdminFields} />`;
      break;
    case 'knowledge':
      page = html`<${Knowledge} id=${route.id} role=${role} queues=${queues} />`;
      break;
    case 'canned':
      page = html`<${CannedResponses} role=${role} me=${me} />`;
      break;
    case 'profile':
      page = html`<${ProfileSettings} me=${me} onChanged=${profileChanged} key=${me ? me.id : ''} />`;
      break;
    default:
      page = html`<${Workspace} state=${state} actions=${actions} softphone=${device === 'browser' ? { status: phoneStatus, muted, keys: keysSent } : null} queues=${queues} queueName=${queueName} dispositionName=${dispositionName} ownAddresses=${ownAddresses} onDial=${canDial ? actions.dial : null} />`;
  }

  return html`
    <${People.Provider} value=${people}>
    <div class="console" data-testid="console">
      <p class="visually-hidden" aria-live="assertive" data-testid="offer-announce">${offerSaid}</p>
      <${TopBar}
        agent=${me || agent}
        role=${role}
        route=${route}
        agentState=${state.agentState}
        connection=${state.connection}
        locale=${locale}
        onState=${actions.setState}
        onLocale=${changeLocale}
        device=${me ? device : null}
        onDevice=${changeDevice}
        onLogout=${logout}
        prefs=${prefs}
        notifyPermission=${notifyPermission}
        onNotify=${setNotify}
        onSound=${(on) => setPrefs({ ...prefs, sound: on })}
        onHelp=${() => setHelp(true)}
      />
      <${ErrorBar} errors=${state.errors} onDismiss=${actions.dismissError} />
      <${QueuedBanner} connection=${state.connection} actions=${state.actions} />
      <${Mentions} mentions=${state.mentions} onDismiss=${(id) => dispatch({ type: 'local.mention_closed', id })} />
      <${Reminders} reminders=${state.reminders} onDismiss=${closeReminder} onDial=${canDial ? actions.dial : null}
        onDone=${(id) => api.closeFollowUp(id, true).catch(() => {}).finally(() => closeReminder(id))} />
      <main class="page">${page}</main>
      ${help && html`<${ShortcutHelp} onClose=${() => setHelp(false)} />`}
    </div>
    <//>
  `;
}

/** Focuses the first element matching `selector` once the page shows it (after a route change or
 * a render), giving up after a few frames. */
function focusSoon(selector, frames = 10) {
  const el = document.querySelector(selector);
  if (el) {
    el.focus();
    return;
  }
  if (frames > 0) requestAnimationFrame(() => focusSoon(selector, frames - 1));
}
