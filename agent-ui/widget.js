/*
 * Plugboard chat widget. A website embeds it with one tag:
 *
 *   <script src="https://HUB/widget.js" data-queue="Support" async></script>
 *
 * Self-contained on purpose (no imports, no framework): it runs on other people's pages. It
 * finds the hub from its own `src`, draws a launcher and a panel inside an open shadow root (so
 * the page's CSS and ours never mix), loads HUB/widget.css there, and speaks /ws/chat as
 * docs/protocol.md describes: hello → ready → pre-chat form → start → chat, or the offline form
 * when nobody is available.
 *
 * What survives a reload or a dropped network lives in localStorage: the conversation's token,
 * the messages seen (with the last seq, sent as `after` on resume), and an outbox of messages not
 * yet acknowledged, each with its client_id. On reconnect the widget resumes with
 * hello {token, after} and resends the outbox; the server stores each client_id once, and the
 * widget shows each message once (by id, and by client_id for its own).
 */
(function () {
  'use strict';

  var script = document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-queue]') ||
    document.querySelector('script[src*="widget.js"]');
  if (!script || window.__plugboardWidget) return;
  window.__plugboardWidget = true;

  var src = new URL(script.getAttribute('src'), location.href);
  var HUB = src.origin;
  var QUEUE = script.getAttribute('data-queue') || '';
  // A site that knows its user signs them (data-user-hash: hex HMAC-SHA256 of the user id, or of
  // the email without one, under the widget's secret); unsigned, what the form says is a claim.
  var USER_HASH = script.getAttribute('data-user-hash') || '';
  var SIGNED_USER = USER_HASH ? {
    user_id: script.getAttribute('data-user-id') || undefined,
    email: script.getAttribute('data-user-email') || undefined,
    hash: USER_HASH,
  } : null;
  var WS_URL = (src.protocol === 'https:' ? 'wss://' : 'ws://') + src.host + '/ws/chat';
  var STORE_KEY = 'plugboard.chat:' + HUB + ':' + QUEUE;
  var MAX_KEPT = 200;
  var TYPING_REFRESH_MS = 3000;
  var TYPING_IDLE_MS = 2500;
  var AGENT_TYPING_TIMEOUT_MS = 8000;

  // ---- strings ---------------------------------------------------------------------------

  var STRINGS = {
    en: {
      launcher: 'Chat with us',
      title: 'Chat with us',
      close: 'Minimise chat',
      intro: 'Ask us anything. We usually reply within a few minutes.',
      name: 'Your name',
      email: 'Email',
      phone: 'Phone (optional)',
      message: 'How can we help?',
      start: 'Start chat',
      offlineIntro: 'Nobody is available right now. Leave us a message and we will get back to you by email.',
      offlineSend: 'Send message',
      offlineReceived: 'Thank you, your message was received. We will reply by email as soon as we can.',
      waiting: 'Thanks! An agent will be with you shortly.',
      joined: '{name} joined the chat',
      chattingWith: 'You are chatting with {name}',
      chattedWith: 'You chatted with {name}',
      agentTyping: '{name} is typing…',
      someone: 'Agent',
      you: 'You',
      placeholder: 'Type a message…',
      send: 'Send',
      sending: 'Sending…',
      notSent: 'Not sent',
      notSentTooFast: 'Not sent: too many messages at once. Wait a minute, then send it again.',
      notSentTooLarge: 'Not sent: too long, or this chat has reached its size limit.',
      leave: 'End chat',
      ended: 'This chat has ended.',
      newChat: 'Start a new chat',
      transcriptAsk: 'Email me this conversation',
      transcriptSend: 'Send',
      transcriptSent: 'The conversation is on its way to {email}.',
      csatAsk: 'How was your conversation?',
      csatScore: '{n} of 5',
      csatComment: 'Anything you would like to add? (optional)',
      csatSend: 'Send rating',
      csatThanks: 'Thank you for your rating.',
      csatAlready: 'You rated this conversation already ({n} of 5). Thank you!',
      connecting: 'Connecting…',
      reconnecting: 'Reconnecting…',
      error: 'Something went wrong. Please try again.',
      tooFast: 'Too many attempts. Wait a minute and try again.',
      notHere: 'This chat is not available on this website.',
      attach: 'Send a picture or a PDF',
      emoji: 'Emoji',
      sendingFile: 'Sending {name}…',
      fileRefused: 'Only pictures and PDF files can be sent.',
      download: 'Download {name}',
    },
    'zh-CN': {
      launcher: '在线咨询',
      title: '在线客服',
      close: '最小化',
      intro: '有任何问题都可以问我们，通常几分钟内回复。',
      name: '您的姓名',
      email: '邮箱',
      phone: '电话（可选）',
      message: '请问有什么可以帮您？',
      start: '开始咨询',
      offlineIntro: '目前没有客服在线。请留言，我们会通过邮件回复您。',
      offlineSend: '提交留言',
      offlineReceived: '谢谢，我们已收到您的留言，会尽快通过邮件回复您。',
      waiting: '谢谢！客服马上为您服务。',
      joined: '{name} 已加入会话',
      chattingWith: '正在为您服务：{name}',
      chattedWith: '本次为您服务的是：{name}',
      agentTyping: '{name} 正在输入…',
      someone: '客服',
      you: '我',
      placeholder: '输入消息…',
      send: '发送',
      sending: '发送中…',
      notSent: '未发送',
      notSentTooFast: '未发送：消息太频繁，请稍等一分钟后再发。',
      notSentTooLarge: '未发送：消息太长，或本次会话已达上限。',
      leave: '结束会话',
      ended: '本次会话已结束。',
      newChat: '开始新的会话',
      transcriptAsk: '将本次聊天记录发到我的邮箱',
      transcriptSend: '发送',
      transcriptSent: '聊天记录正在发往 {email}。',
      csatAsk: '您对本次服务满意吗？',
      csatScore: '{n} 分（满分 5 分）',
      csatComment: '还有什么想告诉我们的吗？（可选）',
      csatSend: '提交评价',
      csatThanks: '感谢您的评价。',
      csatAlready: '您已评价过本次会话（{n} 分），谢谢！',
      connecting: '正在连接…',
      reconnecting: '正在重新连接…',
      error: '出了点问题，请重试。',
      tooFast: '尝试次数过多，请稍等一分钟后再试。',
      notHere: '本网站无法使用此在线客服。',
      attach: '发送图片或 PDF',
      emoji: '表情',
      sendingFile: '正在发送 {name}…',
      fileRefused: '只能发送图片和 PDF 文件。',
      download: '下载 {name}',
    },
  };
  var LOCALE = /^zh/i.test(navigator.language || '') ? 'zh-CN' : 'en';
  function t(key, params) {
    var s = STRINGS[LOCALE][key] || STRINGS.en[key] || key;
    return s.replace(/\{(\w+)\}/g, function (m, k) { return params && k in params ? String(params[k]) : m; });
  }

  // ---- persistence -----------------------------------------------------------------------

  function emptyStore() {
    // agent: who holds the chat now; authors: every agent who wrote in it, by id ({id, name, avatar}).
    return { token: null, interactionId: null, phase: null, agent: null, authors: {}, messages: [], outbox: [], open: false };
  }
  function load() {
    try {
      var raw = localStorage.getItem(STORE_KEY);
      if (!raw) return emptyStore();
      var s = JSON.parse(raw);
      var base = emptyStore();
      for (var k in base) if (s && k in s) base[k] = s[k];
      return base;
    } catch (e) {
      return emptyStore();
    }
  }
  function save() {
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(store));
    } catch (e) {
      // Private mode or a full quota: the chat still works, it just will not survive a reload.
    }
  }

  var store = load();

  function newId() {
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  function lastSeq() {
    var max = 0;
    store.messages.forEach(function (m) { if (m.seq > max) max = m.seq; });
    return max;
  }

  /** The files a message carries (a picture or a PDF sent in the chat): `{id, filename, content_type, size}`. */
  function filesOf(m) {
    var list = (m.channel && m.channel.attachments) || m.files || [];
    return list.map(function (a) { return { id: a.id, filename: a.filename, content_type: a.content_type, size: a.size }; });
  }

  /** Remembers an agent as the hub names them to the customer, for the lines they wrote. */
  function known(author) {
    if (author && author.id) store.authors[author.id] = { id: author.id, name: author.name, avatar: author.avatar || null };
  }

  /** Keep one copy of each message (by id, and by client_id), in seq order; drop acked outbox. */
  function addMessages(list) {
    var byId = {};
    store.messages.forEach(function (m) { byId[m.id] = m; });
    list.forEach(function (m) {
      if (m && m.id) byId[m.id] = { id: m.id, seq: m.seq, sender: m.sender, agent_id: m.agent_id || null, body: m.body, client_id: m.client_id || '', created_at: m.created_at, files: filesOf(m) };
    });
    var seen = {};
    store.messages = Object.keys(byId).map(function (k) { return byId[k]; })
      .sort(function (a, b) { return a.seq - b.seq; })
      .filter(function (m) {
        if (!m.client_id) return true;
        if (seen[m.client_id]) return false;
        seen[m.client_id] = true;
        return true;
      })
      .slice(-MAX_KEPT);
    store.outbox = store.outbox.filter(function (p) { return !seen[p.client_id]; });
    save();
  }

  // ---- DOM -------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v == null || v === false) return;
        if (k === 'text') node.textContent = v;
        else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : v);
      });
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }

  var host = el('div', { id: 'plugboard-chat-widget' });
  var root = host.attachShadow({ mode: 'open' });
  var frame = el('div', { class: 'pb-root', hidden: true });
  var link = el('link', { rel: 'stylesheet', href: HUB + '/widget.css' });
  function reveal() { frame.removeAttribute('hidden'); }
  link.addEventListener('load', reveal);
  link.addEventListener('error', reveal);
  root.appendChild(link);
  root.appendChild(frame);

  var launcher = el('button', { class: 'pb-launcher', type: 'button', 'data-testid': 'widget-launcher', 'aria-label': t('launcher'), onclick: function () { setOpen(!store.open); } }, [
    el('span', { class: 'pb-launcher-icon', 'aria-hidden': 'true' }),
    el('span', { class: 'pb-launcher-text', text: t('launcher') }),
  ]);
  var statusLine = el('div', { class: 'pb-status', 'data-testid': 'widget-status', 'aria-live': 'polite' });
  var headerSub = el('div', { class: 'pb-header-sub', 'data-testid': 'widget-agent' });
  var body = el('div', { class: 'pb-body' });
  var panel = el('section', { class: 'pb-panel', role: 'dialog', 'aria-label': t('title'), 'data-testid': 'widget-panel', hidden: true }, [
    el('header', { class: 'pb-header' }, [
      el('div', null, [el('div', { class: 'pb-header-title', text: t('title') }), headerSub]),
      el('button', { class: 'pb-icon-button', type: 'button', 'aria-label': t('close'), title: t('close'), 'data-testid': 'widget-close', onclick: function () { setOpen(false); } }, [el('span', { class: 'pb-minimise', 'aria-hidden': 'true' })]),
    ]),
    statusLine,
    body,
  ]);
  frame.appendChild(panel);
  frame.appendChild(launcher);

  function setOpen(open) {
    store.open = open;
    save();
    if (open) panel.removeAttribute('hidden');
    else panel.setAttribute('hidden', '');
    launcher.setAttribute('aria-expanded', open ? 'true' : 'false');
    launcher.classList.toggle('pb-launcher-open', open);
    if (open) focusFirst();
  }

  function focusFirst() {
    var target = body.querySelector('input, textarea');
    if (target) setTimeout(function () { target.focus(); }, 0);
  }

  // ---- views -----------------------------------------------------------------------------

  var ready = null; // the last `ready` frame: {agents_available, queue}
  var phase = 'connecting'; // connecting | prechat | offline | offline_sent | chat | ended
  var draft = { name: '', email: '', phone: '', message: '' };
  var formBusy = false;
  // The transcript by email: whether the hub offers it, whether this socket holds the
  // conversation (a socket that said `ready` holds none), and where it went once asked.
  var transcript = { offered: false, onSocket: false, sentTo: null };
  // The rating at the end: whether the queue asks, and the score kept once sent (`already`: the
  // hub kept an earlier one). Asked on the socket that holds the conversation, like the transcript.
  var csat = { asked: false, score: null, already: false, busy: false };
  var agentTyping = false;
  var agentTypingTimer = null;
  var messageList = null;
  var typingLine = null;
  var composerInput = null;

  function field(name, label, type, required, multiline) {
    var testPrefix = phase === 'offline' ? 'offline-' : 'prechat-';
    var attrs = { name: name, required: required, 'data-testid': testPrefix + name };
    attrs.oninput = function (e) { draft[name] = e.target.value; };
    var input;
    if (multiline) {
      attrs.rows = '3';
      input = el('textarea', attrs);
    } else {
      attrs.type = type;
      attrs.autocomplete = name === 'name' ? 'name' : name === 'email' ? 'email' : name === 'phone' ? 'tel' : 'off';
      input = el('input', attrs);
    }
    input.value = draft[name] || '';
    return el('label', { class: 'pb-field' }, [el('span', { text: label }), input]);
  }

  function renderForm(offline) {
    var prefix = offline ? 'offline-' : 'prechat-';
    var form = el('form', { class: 'pb-form', 'data-testid': offline ? 'offline-form' : 'prechat-form', onsubmit: function (e) {
      e.preventDefault();
      if (formBusy) return;
      start(offline);
    } }, [
      el('p', { class: offline ? 'pb-intro pb-intro-offline' : 'pb-intro', text: offline ? t('offlineIntro') : t('intro'), 'data-testid': offline ? 'offline-intro' : 'prechat-intro' }),
      field('name', t('name'), 'text', true),
      field('email', t('email'), 'email', true),
      field('phone', t('phone'), 'tel', false),
      field('message', t('message'), null, offline, true),
      el('button', { class: 'pb-primary', type: 'submit', 'data-testid': prefix + 'submit', text: offline ? t('offlineSend') : t('start') }),
    ]);
    return form;
  }

  function renderChat() {
    messageList = el('ol', { class: 'pb-messages', 'data-testid': 'widget-messages', 'aria-live': 'polite' });
    typingLine = el('div', { class: 'pb-typing', 'data-testid': 'widget-typing' });
    var children = [messageList, typingLine];
    if (phase === 'chat') {
      composerInput = el('textarea', { rows: '1', class: 'pb-input', placeholder: t('placeholder'), 'aria-label': t('placeholder'), 'data-testid': 'widget-input',
        oninput: onComposerInput,
        onkeydown: function (e) {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            sendComposer();
          }
        } });
      var picker = el('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp,application/pdf', class: 'pb-hidden', 'data-testid': 'widget-file-input', tabindex: '-1', 'aria-hidden': 'true',
        onchange: function (e) { var f = e.target.files && e.target.files[0]; e.target.value = ''; if (f) sendFile(f); } });
      // The emoji row: one picked goes in at the caret (the console's emoji.js offers the same).
      var grid = el('div', { class: 'pb-emoji-grid', role: 'group', 'aria-label': t('emoji'), hidden: true, 'data-testid': 'widget-emoji-grid',
        onkeydown: function (e) { if (e.key === 'Escape') { grid.setAttribute('hidden', ''); composerInput.focus(); } } },
        EMOJI.map(function (emoji) {
          return el('button', { type: 'button', 'data-testid': 'widget-emoji', text: emoji, onclick: function () {
            var at = composerInput.selectionStart, to = composerInput.selectionEnd, v = composerInput.value;
            composerInput.value = v.slice(0, at) + emoji + v.slice(to);
            grid.setAttribute('hidden', '');
            composerInput.focus();
            composerInput.setSelectionRange(at + emoji.length, at + emoji.length);
          } });
        }));
      children.push(grid);
      children.push(el('form', { class: 'pb-composer', onsubmit: function (e) { e.preventDefault(); sendComposer(); } }, [
        el('button', { class: 'pb-icon-button pb-tool', type: 'button', 'aria-label': t('emoji'), title: t('emoji'), 'data-testid': 'widget-emoji-open',
          onclick: function () { if (grid.hasAttribute('hidden')) grid.removeAttribute('hidden'); else grid.setAttribute('hidden', ''); } }, [el('span', { class: 'pb-smile', 'aria-hidden': 'true', text: '☺' })]),
        el('button', { class: 'pb-icon-button pb-tool', type: 'button', 'aria-label': t('attach'), title: t('attach'), 'data-testid': 'widget-attach', onclick: function () { picker.click(); } }, [el('span', { class: 'pb-clip', 'aria-hidden': 'true' })]),
        picker,
        composerInput,
        el('button', { class: 'pb-primary', type: 'submit', 'data-testid': 'widget-send', text: t('send') }),
      ]));
      children.push(el('button', { class: 'pb-link', type: 'button', 'data-testid': 'widget-leave', text: t('leave'), onclick: leave }));
    } else {
      composerInput = null;
      children.push(el('div', { class: 'pb-ended', 'data-testid': 'widget-ended' }, [
        el('p', { text: t('ended') }),
        csatQuestion(),
        transcriptOffer(),
        el('button', { class: 'pb-primary', type: 'button', 'data-testid': 'widget-new-chat', text: t('newChat'), onclick: newChat }),
      ]));
    }
    return el('div', { class: 'pb-chat' }, children);
  }

  /** After the end of a chat an agent answered, on a queue that asks: 1 to 5 (radio buttons,
   * so arrows and space work) and an optional comment, sent once; then the thanks. */
  function csatQuestion() {
    if (csat.score) return el('p', { class: 'pb-csat-done', role: 'status', 'data-testid': 'widget-csat-thanks',
      text: csat.already ? t('csatAlready', { n: csat.score }) : t('csatThanks') });
    var answered = store.agent || Object.keys(store.authors).length > 0;
    if (!csat.asked || !transcript.onSocket || !answered) return null;
    var stars = [1, 2, 3, 4, 5].map(function (n) {
      return el('label', { class: 'pb-star', title: t('csatScore', { n: n }) }, [
        el('input', { type: 'radio', name: 'pb-csat-score', value: String(n), required: true, 'data-testid': 'widget-csat-' + n,
          'aria-label': t('csatScore', { n: n }) }),
        el('span', { 'aria-hidden': 'true', text: '★' }),
      ]);
    });
    var comment = el('textarea', { class: 'pb-input', name: 'csat-comment', rows: '2', maxlength: '2000', 'data-testid': 'widget-csat-comment' });
    return el('form', { class: 'pb-csat', 'data-testid': 'widget-csat', onsubmit: function (e) {
      e.preventDefault();
      var picked = e.currentTarget.querySelector('input[name="pb-csat-score"]:checked');
      if (!picked || csat.busy) return;
      var frame = { type: 'csat', score: Number(picked.value) };
      if (comment.value.trim()) frame.comment = comment.value.trim();
      if (send(frame)) { csat.busy = true; showStatus(''); } else showStatus(t('reconnecting'));
    } }, [
      el('fieldset', { class: 'pb-stars' }, [el('legend', { text: t('csatAsk') })].concat(stars)),
      el('label', { class: 'pb-field' }, [el('span', { text: t('csatComment') }), comment]),
      el('button', { class: 'pb-primary', type: 'submit', 'data-testid': 'widget-csat-send', text: t('csatSend') }),
    ]);
  }

  /** After the end, while this socket still holds the conversation and a mailbox can send it:
   * the transcript by email (once), to the address given before the chat or another. */
  function transcriptOffer() {
    if (transcript.sentTo) return el('p', { 'data-testid': 'widget-transcript-sent', text: t('transcriptSent', { email: transcript.sentTo }) });
    if (!transcript.offered || !transcript.onSocket) return null;
    var input = el('input', { class: 'pb-input', type: 'email', name: 'transcript-email', required: true, autocomplete: 'email', 'data-testid': 'widget-transcript-email' });
    input.value = draft.email || '';
    return el('form', { class: 'pb-transcript', 'data-testid': 'widget-transcript', onsubmit: function (e) {
      e.preventDefault();
      if (send({ type: 'transcript', email: input.value.trim(), locale: LOCALE })) showStatus('');
      else showStatus(t('reconnecting'));
    } }, [
      el('label', { class: 'pb-field' }, [el('span', { text: t('transcriptAsk') }), input]),
      el('button', { class: 'pb-primary', type: 'submit', 'data-testid': 'widget-transcript-send', text: t('transcriptSend') }),
    ]);
  }

  /** Who wrote an agent's message, as the hub named them to the customer. */
  function authorOf(m) {
    return (m.agent_id && store.authors[m.agent_id]) || store.agent || null;
  }

  function notice(text) {
    return el('li', { class: 'pb-note', 'data-testid': 'widget-notice', text: text });
  }

  function renderMessages() {
    if (!messageList) return;
    var items = [];
    // Who joined goes just before each agent's first line (a transfer brings a second one).
    var lastAgent = null;
    store.messages.forEach(function (m) {
      var author = m.sender === 'agent' ? authorOf(m) : null;
      if (m.sender === 'agent' && (m.agent_id || null) !== lastAgent) {
        lastAgent = m.agent_id || null;
        items.push(notice(t('joined', { name: author ? author.name : t('someone') })));
      }
      items.push(messageItem(m.sender, m.body, m.id, null, null, author, m.files));
    });
    store.outbox.forEach(function (p) { items.push(messageItem('customer', p.body, null, p.failed ? 'failed' : 'pending', p.failed)); });
    if (phase === 'chat' && store.agent && store.agent.id !== lastAgent) items.push(notice(t('joined', { name: store.agent.name })));
    else if (phase === 'chat' && !store.agent && !lastAgent) items.push(notice(t('waiting')));
    messageList.textContent = '';
    items.forEach(function (i) { messageList.appendChild(i); });
    messageList.scrollTop = messageList.scrollHeight;
  }

  // Why the hub refused what the visitor did (the error's code), in their words: the hub's own
  // text is English, and never shown to them.
  function refused(code) {
    if (code === 'rate_limited') return t('tooFast');
    if (code === 'too_large') return t('notSentTooLarge');
    if (code === 'forbidden') return t('notHere');
    return t('error');
  }

  // Why the hub refused a message (the error's code), in the visitor's words.
  function notSent(code) {
    if (code === 'rate_limited') return t('notSentTooFast');
    if (code === 'too_large') return t('notSentTooLarge');
    return t('notSent');
  }

  /** An agent's picture, from the hub (a path it gave), beside their name. */
  function avatar(author) {
    if (!author || !author.avatar || author.avatar.charAt(0) !== '/') return null;
    return el('img', { class: 'pb-avatar', src: HUB + author.avatar, alt: '', width: 20, height: 20, 'data-testid': 'widget-avatar' });
  }

  var EMOJI = ['😀', '😂', '😊', '😍', '🙏', '👍', '👎', '👏', '🎉', '❤️', '😢', '😮', '🤔', '👋', '✅', '❌'];

  // Files are read with the chat's token and shown from blob URLs (an <img src> cannot send
  // the token); each is read once.
  var fileUrls = {};
  function fileUrl(file) {
    if (!fileUrls[file.id]) {
      fileUrls[file.id] = fetch(HUB + '/chat/files/' + encodeURIComponent(file.id), { headers: { Authorization: 'Bearer ' + store.token } })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.blob(); })
        .then(function (b) { return URL.createObjectURL(new Blob([b], { type: file.content_type })); });
      fileUrls[file.id].catch(function () { delete fileUrls[file.id]; });
    }
    return fileUrls[file.id];
  }

  function fileItem(file) {
    var image = /^image\/(png|jpeg|gif|webp)$/.test(file.content_type);
    var node = image
      ? el('img', { class: 'pb-image', alt: file.filename, 'data-testid': 'widget-image' })
      : el('a', { class: 'pb-file', href: '#', download: file.filename, 'data-testid': 'widget-file', text: '\u2913 ' + file.filename, 'aria-label': t('download', { name: file.filename }) });
    if (store.token) {
      fileUrl(file).then(function (url) {
        if (image) node.src = url;
        else node.href = url;
      }, function () {});
    }
    return node;
  }

  // Web addresses in a line become links (http, https and www. only), the rest stays text; the
  // same rule as the console's links.js.
  var ADDRESS = /\b(?:https?:\/\/|www\.)[^\s<>"'。，；：！？、（）【】「」『』]+/gi;
  var TRAILING = /[.,;:!?'")\]}>。，；：！？）】」』]+$/;
  function bubble(text) {
    var node = el('div', { class: 'pb-bubble' });
    var last = 0;
    String(text || '').replace(ADDRESS, function (found, at) {
      var shown = found.replace(TRAILING, '');
      if (!shown || /^www\.$/i.test(shown)) return found;
      if (at > last) node.appendChild(document.createTextNode(text.slice(last, at)));
      var href = /^www\./i.test(shown) ? 'https://' + shown : shown;
      node.appendChild(el('a', { href: href, target: '_blank', rel: 'noopener noreferrer nofollow', 'data-testid': 'widget-link', text: shown }));
      last = at + shown.length;
      return found;
    });
    if (last < String(text || '').length) node.appendChild(document.createTextNode(text.slice(last)));
    return node;
  }

  function messageItem(sender, text, id, pending, failedCode, author, files) {
    var who = sender === 'customer' ? t('you') : sender === 'agent' ? (author ? author.name : t('someone')) : '';
    return el('li', { class: 'pb-message pb-' + sender + (pending ? ' pb-' + pending : ''), 'data-testid': 'widget-message', 'data-sender': sender, 'data-message-id': id || '' }, [
      who ? el('span', { class: 'pb-author', 'data-testid': 'widget-author' }, [avatar(author), who]) : null,
      text || !(files && files.length) ? bubble(text) : null,
      files && files.length ? el('div', { class: 'pb-files' }, files.map(fileItem)) : null,
      pending ? el('span', { class: 'pb-meta', text: pending === 'failed' ? notSent(failedCode) : t('sending') }) : null,
    ]);
  }

  function renderTyping() {
    if (!typingLine) return;
    typingLine.textContent = agentTyping ? t('agentTyping', { name: store.agent ? store.agent.name : t('someone') }) : '';
  }

  function renderHeader() {
    // Once the chat has ended nobody is chatting any more: the header says who it was.
    var name = store.agent && store.agent.name;
    var line = !name ? '' : phase === 'chat' ? t('chattingWith', { name: name })
      : phase === 'ended' ? t('chattedWith', { name: name }) : '';
    headerSub.textContent = '';
    if (line) {
      headerSub.appendChild(avatar(store.agent) || document.createTextNode(''));
      headerSub.appendChild(document.createTextNode(line));
    }
  }

  function render() {
    body.textContent = '';
    messageList = typingLine = composerInput = null;
    if (phase === 'connecting') body.appendChild(el('p', { class: 'pb-intro', text: t('connecting') }));
    else if (phase === 'prechat') body.appendChild(renderForm(false));
    else if (phase === 'offline') body.appendChild(renderForm(true));
    else if (phase === 'offline_sent') {
      body.appendChild(el('div', { class: 'pb-received', 'data-testid': 'offline-received' }, [
        el('p', { text: t('offlineReceived') }),
        el('button', { class: 'pb-link', type: 'button', 'data-testid': 'widget-new-chat', text: t('newChat'), onclick: newChat }),
      ]));
    } else {
      body.appendChild(renderChat());
      renderMessages();
      renderTyping();
    }
    renderHeader();
    if (store.open) focusFirst();
  }

  function setPhase(p) {
    if (phase === p) return;
    phase = p;
    if (p === 'chat' || p === 'ended' || p === 'offline_sent') store.phase = p;
    save();
    render();
  }

  function showStatus(text) {
    statusLine.textContent = text || '';
    statusLine.classList.toggle('pb-status-on', Boolean(text));
  }

  // ---- socket ----------------------------------------------------------------------------

  var ws = null;
  var attempt = 0;
  var retryTimer = null;
  var everOpened = false;

  function connect() {
    clearTimeout(retryTimer);
    if (ws) return;
    if (everOpened) showStatus(t('reconnecting'));
    var sock = new WebSocket(WS_URL);
    ws = sock;
    sock.addEventListener('open', function () {
      attempt = 0;
      everOpened = true;
      showStatus('');
      var hello = { type: 'hello' };
      if (QUEUE) hello.queue = QUEUE;
      if (store.token) {
        hello.token = store.token;
        hello.after = lastSeq();
      }
      sock.send(JSON.stringify(hello));
    });
    sock.addEventListener('message', function (ev) {
      var f;
      try {
        f = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      onFrame(f);
    });
    sock.addEventListener('close', function () {
      if (ws !== sock) return; // replaced on purpose (a new chat): its successor is already open
      ws = null;
      if (everOpened) showStatus(t('reconnecting'));
      var delay = Math.min(15000, 500 * Math.pow(2, attempt)) * (0.75 + Math.random() * 0.5);
      attempt += 1;
      retryTimer = setTimeout(connect, delay);
    });
  }

  window.addEventListener('online', function () {
    if (!ws) {
      attempt = 0;
      connect();
    }
  });

  function send(frame) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function flushOutbox() {
    store.outbox.forEach(function (p) {
      if (!p.failed) send({ type: 'message', client_id: p.client_id, body: p.body });
    });
  }

  function onFrame(f) {
    switch (f.type) {
      case 'ready':
        ready = f;
        formBusy = false;
        transcript = { offered: Boolean(f.transcript_by_email), onSocket: false, sentTo: null };
        csat = { asked: Boolean(f.csat), score: null, already: false, busy: false };
        if (store.token) {
          // The token no longer opens a conversation: start afresh, keeping nothing unsent.
          store = emptyStore();
          store.open = !panel.hasAttribute('hidden');
          save();
        }
        if (store.phase === 'ended' || store.phase === 'offline_sent') {
          phase = store.phase;
          render();
          return;
        }
        setPhase(f.agents_available ? 'prechat' : 'offline');
        return;
      case 'started':
        formBusy = false;
        draft = { name: draft.name, email: draft.email, phone: draft.phone, message: '' };
        if (f.offline) {
          // A message left while nobody was there: the reply comes by email, nothing to resume.
          store.token = null;
          setPhase('offline_sent');
          return;
        }
        store.token = f.token;
        store.interactionId = f.interaction_id;
        transcript.onSocket = true;
        if (f.message) addMessages([f.message]);
        save();
        setPhase('chat');
        return;
      case 'resumed':
        store.interactionId = f.interaction_id;
        transcript.offered = Boolean(f.transcript_by_email);
        transcript.onSocket = true;
        csat = { asked: Boolean(f.csat), score: f.csat_score || null, already: Boolean(f.csat_score), busy: false };
        (f.authors || []).forEach(known);
        if (f.agent) store.agent = f.agent;
        addMessages(f.messages || []);
        var live = f.state === 'queued' || f.state === 'offered' || f.state === 'active';
        if (live) {
          phase = 'chat';
          store.phase = 'chat';
        } else {
          store.token = null;
          phase = store.phase === 'offline_sent' ? 'offline_sent' : 'ended';
          store.phase = phase;
        }
        save();
        render();
        if (live) flushOutbox();
        return;
      case 'message.ack':
        addMessages([f.message]);
        renderMessages();
        return;
      case 'message':
        if (f.message && f.message.sender === 'agent') {
          agentTyping = false;
          renderTyping();
        }
        if (f.author) known(f.author);
        addMessages([f.message]);
        renderMessages();
        return;
      case 'typing':
        agentTyping = Boolean(f.typing);
        clearTimeout(agentTypingTimer);
        if (agentTyping) agentTypingTimer = setTimeout(function () { agentTyping = false; renderTyping(); }, AGENT_TYPING_TIMEOUT_MS);
        renderTyping();
        return;
      case 'agent.joined':
        known(f.agent);
        store.agent = f.agent;
        save();
        // An agent reopened the chat while this page was still on it: the visitor may write
        // again (a reload starts a new chat: the ended chat's token was let go).
        if (phase === 'ended' && store.interactionId) {
          setPhase('chat');
          return;
        }
        renderHeader();
        renderMessages();
        return;
      case 'ended':
        agentTyping = false;
        store.token = null;
        store.outbox = [];
        save();
        setPhase('ended');
        return;
      case 'transcript.queued':
        transcript.sentTo = f.email;
        render();
        return;
      case 'csat.recorded':
        csat = { asked: true, score: f.score, already: Boolean(f.already), busy: false };
        render();
        return;
      case 'error':
        formBusy = false;
        csat.busy = false;
        if (f.ref) {
          store.outbox.forEach(function (p) { if (p.client_id === f.ref) p.failed = f.code || true; });
          save();
          renderMessages();
        } else {
          showStatus(refused(f.code));
        }
        return;
      default:
        return;
    }
  }

  // ---- actions ---------------------------------------------------------------------------

  function start(offline) {
    var frame = { type: 'start', name: draft.name.trim(), email: draft.email.trim(), locale: LOCALE };
    if (draft.phone.trim()) frame.phone = draft.phone.trim();
    if (draft.message.trim()) {
      frame.message = draft.message.trim();
      frame.client_id = newId();
    }
    if (offline) frame.offline = true;
    if (SIGNED_USER) frame.identity = SIGNED_USER;
    store.messages = [];
    store.outbox = [];
    store.agent = null;
    store.authors = {};
    if (send(frame)) {
      formBusy = true;
      showStatus('');
    } else {
      showStatus(t('reconnecting'));
    }
  }

  /** Sends a file the visitor picked: committed by the hub before it shows as sent. */
  function sendFile(file) {
    if (!store.token) return;
    showStatus(t('sendingFile', { name: file.name }));
    var url = HUB + '/chat/files?filename=' + encodeURIComponent(file.name) + '&client_id=' + encodeURIComponent(newId());
    fetch(url, { method: 'POST', headers: { Authorization: 'Bearer ' + store.token }, body: file })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (!r.ok) throw { code: body.code || (r.status === 413 ? 'too_large' : 'internal') };
          return body;
        });
      })
      .then(function (body) {
        showStatus('');
        addMessages([body.message]);
        renderMessages();
      }, function (err) {
        showStatus(err && err.code === 'bad_request' ? t('fileRefused') : refused(err && err.code));
      });
  }

  function sendComposer() {
    if (!composerInput) return;
    var text = composerInput.value.trim();
    if (!text) return;
    var p = { client_id: newId(), body: text, at: Date.now() };
    store.outbox.push(p);
    save();
    composerInput.value = '';
    stopTyping();
    renderMessages();
    send({ type: 'message', client_id: p.client_id, body: p.body });
  }

  var typingSentAt = 0;
  var typingIdle = null;
  function onComposerInput() {
    if (!composerInput.value) {
      stopTyping();
      return;
    }
    var now = Date.now();
    if (now - typingSentAt > TYPING_REFRESH_MS) {
      typingSentAt = now;
      send({ type: 'typing', typing: true });
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
  }
  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSentAt) {
      typingSentAt = 0;
      send({ type: 'typing', typing: false });
    }
  }

  function leave() {
    stopTyping();
    send({ type: 'leave' });
  }

  function newChat() {
    var open = store.open;
    store = emptyStore();
    store.open = open;
    save();
    phase = 'connecting';
    if (ready) setPhase(ready.agents_available ? 'prechat' : 'offline');
    else render();
    // Start over on a fresh socket: availability may have changed since the last `ready`.
    var old = ws;
    ws = null;
    if (old) old.close();
    attempt = 0;
    connect();
  }

  // ---- boot ------------------------------------------------------------------------------

  function boot() {
    document.body.appendChild(host);
    if (store.token && store.phase === 'chat') phase = 'chat';
    render();
    setOpen(store.open);
    connect();
  }

  if (document.body) boot();
  else document.addEventListener('DOMContentLoaded', boot);
})();
