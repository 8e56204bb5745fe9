// Websockets to the hub on the page's own origin: /ws/agent for the console, /ws/supervisor for
// the live queue view. The first frame is always `auth`; a dropped connection is reopened with
// exponential backoff, and the server answers every (re)connection with a fresh snapshot (or,
// for supervisors, the next `queues` frame), so nothing here keeps protocol state. The socket is
// "open" only once that first answer came: before it, the hub has not taken the token, and a frame
// sent then could fall with the connection unseen (the console queues actions instead).

const MIN_DELAY = 500;
const MAX_DELAY = 15000;

function wsUrl(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

/**
 * Open a socket that keeps itself open until `close()`.
 * - onFrame(frame): every JSON frame from the server
 * - onStatus(status): "connecting" | "open" (the server's first frame came) | "closed"
 * - onUnauthorized(): the server refused the token; no further reconnects
 * A first frame refusing the socket as `forbidden` (not for this role) stops it too.
 */
export function connect(path, token, { onFrame, onStatus = () => {}, onUnauthorized = () => {} }) {
  let ws = null;
  let ready = false;
  let attempt = 0;
  let timer = null;
  let stopped = false;

  function open() {
    if (stopped) return;
    onStatus('connecting');
    ready = false;
    ws = new WebSocket(wsUrl(path));
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ type: 'auth', token }));
    });
    ws.addEventListener('message', (ev) => {
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (frame && frame.type === 'error' && frame.code === 'unauthorized') {
        stopped = true;
        onUnauthorized();
      } else if (!ready && frame && frame.type === 'error' && frame.code === 'forbidden') {
        // Refused for this user's role (an agent on /ws/supervisor): asking again changes nothing.
        stopped = true;
      } else if (!ready) {
        ready = true;
        attempt = 0;
        onStatus('open');
      }
      onFrame(frame);
    });
    ws.addEventListener('close', () => {
      ws = null;
      ready = false;
      onStatus('closed');
      if (stopped) return;
      const delay = Math.min(MAX_DELAY, MIN_DELAY * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      attempt += 1;
      timer = setTimeout(open, delay);
    });
  }

  /** Send one frame; false when the socket is not open (the caller keeps it to resend). */
  function send(frame) {
    if (!ws || !ready || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function close() {
    stopped = true;
    clearTimeout(timer);
    if (ws) ws.close();
  }

  open();
  return { send, close };
}
