// Websockets to the hub on the page's own origin: /ws/agent for the console, /ws/supervisor for
// the live queue view. The first frame is always `auth`; a dropped connection is reopened with
// exponential backoff, and the server answers every (re)connection with a fresh snapshot (or,
// for supervisors, the next `queues` frame), so nothing here keeps protocol state.

const MIN_DELAY = 500;
const MAX_DELAY = 15000;

function wsUrl(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

/**
 * Open a socket that keeps itself open until `close()`.
 * - onFrame(frame): every JSON frame from the server
 * - onStatus(status): "connecting" | "open" | "closed"
 * - onOpen(send): after auth was sent on each (re)connection
 * - onUnauthorized(): the server refused the token; no further reconnects
 */
export function connect(path, token, { onFrame, onStatus = () => {}, onOpen = () => {}, onUnauthorized = () => {} }) {
  let ws = null;
  let attempt = 0;
  let timer = null;
  let stopped = false;

  function open() {
    if (stopped) return;
    onStatus('connecting');
    ws = new WebSocket(wsUrl(path));
    ws.addEventListener('open', () => {
      attempt = 0;
      ws.send(JSON.stringify({ type: 'auth', token }));
      onStatus('open');
      onOpen(send);
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
      }
      onFrame(frame);
    });
    ws.addEventListener('close', () => {
      ws = null;
      onStatus('closed');
      if (stopped) return;
      const delay = Math.min(MAX_DELAY, MIN_DELAY * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      attempt += 1;
      timer = setTimeout(open, delay);
    });
  }

  /** Send one frame; false when the socket is not open (the caller keeps it to resend). */
  function send(frame) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
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
