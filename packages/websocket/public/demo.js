// AUTH_TOKEN, when the server has one: open /demo?access_token=<token>. A browser's WebSocket
// cannot set headers, so the token travels as a second subprotocol, `bearer.<base64url(token)>`
// (base64url: a subprotocol must be token characters, which a token with / + = may not be),
// offered next to the real one (the server answers with the real one); fetch() sends a header.
import * as ui from '/ui/ui.js';

const { $, api } = ui;
const token = ui.accessToken;
const SUBPROTOCOL = 'genai-chat.v1';
const base64url = (text) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
const TYPING_IDLE_MS = 1500;
const TYPING_STALE_MS = 5000;
const MAX_BACKOFF_MS = 8000;

const page = ui.demoPage({ onSend: sendMessage });
const { transcript, metrics, wire, form } = page;
const state = {
  socket: undefined,
  // The session lives in the URL (?session=; #<id> links from before still work).
  sessionId: ui.sessionFromUrl() ?? (location.hash.slice(1) || undefined),
  connectionId: undefined,
  gone: false,
  attempt: 0,
  /** messageId → { reply, shownSeq, mine, joinedLate } */
  replies: new Map(),
  running: undefined,
  /** The message this page sent that has not started a reply yet: { question, text }. */
  pending: undefined,
  /** Keep the transcript on the next `joined` (a new session after the old one was gone). */
  keep: false,
  /** The `seq` of the last reply frame this page has: a reconnect joins with `after` = it. */
  lastSeq: undefined,
  /** Frames held while the history loads, shown after it (a replay must not land before it). */
  held: undefined,
};
window.demo = state;
const open = () => state.socket?.readyState === WebSocket.OPEN && state.connectionId !== undefined;
const sync = () => form.set({ ready: open() && !state.gone, busy: Boolean(state.running || state.pending) });

function send(frame) {
  if (state.socket?.readyState !== WebSocket.OPEN) return false;
  const text = JSON.stringify(frame);
  wire.up(text);
  state.socket.send(text);
  return true;
}

/**
 * Join the session (none: the server creates one). Every reply frame carries `seq`, its place in
 * the session's reply log. A reconnect joins with `after` = the last seq this page has, and the
 * server sends what came after it, then goes live: the transcript stays as it is. A page that was
 * just (re)loaded has no seq: it joins without `after`, loads the history, and the server sends
 * the reply in flight (if any) from its start.
 */
function join() {
  state.resuming = Boolean(state.sessionId && !state.gone && state.lastSeq !== undefined);
  send(
    state.sessionId && !state.gone
      ? { type: 'join', sessionId: state.sessionId, ...(state.resuming ? { after: state.lastSeq } : {}) }
      : { type: 'join' },
  );
}

function connect() {
  clearTimeout(state.reconnectTimer);
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const socket = new WebSocket(url, token ? [SUBPROTOCOL, `bearer.${base64url(token)}`] : [SUBPROTOCOL]);
  state.socket = socket;
  state.connectionId = undefined;
  let opened = false;
  ui.setState('connecting', state.attempt ? 'reconnecting…' : 'connecting');
  wire.info(`GET /ws  Upgrade: websocket, Sec-WebSocket-Protocol: ${SUBPROTOCOL}`);
  socket.addEventListener('open', () => {
    opened = true;
    state.attempt = 0;
    wire.info(`101 Switching Protocols (${socket.protocol})`);
    join();
  });
  socket.addEventListener('message', (event) => {
    wire.down(event.data);
    const frame = JSON.parse(event.data);
    if (typeof frame.seq === 'number') state.lastSeq = frame.seq;
    const bytes = new TextEncoder().encode(event.data).byteLength;
    if (state.held && frame.type !== 'joined') state.held.push([frame, bytes]);
    else onFrame(frame, bytes);
  });
  socket.addEventListener('close', (event) => void onClose(socket, event, opened));
}

async function onClose(socket, event, opened) {
  if (socket !== state.socket) return;
  state.connectionId = undefined;
  wire.info(`closed ${event.code}${event.reason ? ` ${event.reason}` : ''}`);
  // The reply keeps running on the server for a while: the next join resumes it from lastSeq.
  for (const shown of state.replies.values())
    if (shown.reply.el.classList.contains('streaming')) shown.reply.resuming('connection lost: resuming…');
  if (state.pending) {
    transcript.tag(state.pending.question, 'not sent: the connection closed', 'not-sent');
    form.restore(state.pending.text);
    state.pending = undefined;
  }
  sync();
  // A refused handshake reaches a page only as close 1006: ask the server whether it is there.
  const reachable = await api('GET', '/health').then(
    () => true,
    () => false,
  );
  if (!reachable) {
    await ui.untilReachable(
      'The server cannot be reached (stopped, restarting, or the network is down). The page reconnects as soon as it answers…',
    );
    state.attempt = 0;
    return connect();
  }
  if (!opened && state.attempt >= 2) {
    ui.setState('closed', 'refused');
    page.failed(
      `The server is up but refused the WebSocket handshake${token ? ' (is the token right?)' : ' (does it need ?access_token=…, or is this origin not allowed?)'}.`,
      () => {
        ui.hideBanner();
        state.attempt = 0;
        connect();
      },
    );
    return;
  }
  // Back off exponentially (with jitter) and join the same session again.
  const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** state.attempt) * (0.5 + Math.random() / 2);
  state.attempt += 1;
  ui.setState('connecting', `reconnecting in ${Math.round(delay / 100) / 10} s`);
  state.reconnectTimer = setTimeout(connect, delay);
}

async function onJoined(frame) {
  const resumed = state.resuming && frame.session.id === state.sessionId && !state.keep;
  state.connectionId = frame.connectionId;
  state.sessionId = frame.session.id;
  state.gone = false;
  state.joinedOnce = true;
  ui.hideBanner();
  page.showSession(state.sessionId); // and drops an old #<id>
  ui.setState(state.running ? 'busy' : 'open', state.running ? 'streaming' : 'connected');
  sync();
  // Joined with `after`: what was missed follows on this socket, into the bubbles on screen.
  if (resumed) return;
  // A first join (or a new session): the history (REST) is the truth, and the reply in flight
  // follows from its start, after it.
  const keep = state.keep;
  state.keep = false;
  await showHistory({ keep });
}

/**
 * Show the session's history (GET /sessions/:id/messages). Frames that arrive meanwhile are held
 * and shown after it, so a replayed reply lands below its question.
 */
async function showHistory({ keep = false } = {}) {
  state.held ??= [];
  try {
    const { messages } = await api('GET', `/sessions/${encodeURIComponent(state.sessionId)}/messages`);
    if (keep) transcript.divider('new session');
    else transcript.clear();
    state.replies.clear();
    state.running = undefined;
    transcript.history(messages);
  } finally {
    const held = state.held;
    state.held = undefined;
    for (const [frame, bytes] of held) onFrame(frame, bytes);
    sync();
  }
}
/** The key of a reply shown from its tail (its start was no longer in the log): its id is unknown. */
const TAIL = 'tail';
function onFrame(frame, bytes) {
  // A delta carries its text and seq only: it belongs to the reply in flight (the last start).
  const shown =
    frame.type === 'delta'
      ? state.replies.get(state.running)
      : frame.messageId &&
        (state.replies.get(frame.messageId) ??
          (state.running === TAIL ? state.replies.get(TAIL) : undefined));
  if (shown?.mine) metrics.addBytes(bytes);
  switch (frame.type) {
    case 'joined':
      return void onJoined(frame).catch((error) => wire.info(`history: ${error.message}`));
    case 'presence':
      $('members').textContent = `${frame.connections} member${frame.connections === 1 ? '' : 's'}`;
      return;
    case 'message':
      transcript.user(frame.text, `member ${frame.connectionId.slice(0, 4)}`);
      return;
    case 'typing':
      return showTyping(frame);
    case 'start': {
      if (shown) return; // a replay of a reply on screen (a resume)
      const mine = frame.connectionId === state.connectionId && Boolean(state.pending);
      if (mine) state.pending = undefined;
      state.running = frame.messageId;
      state.replies.set(frame.messageId, {
        reply: transcript.model('', { streaming: true }),
        shownSeq: frame.seq,
        mine,
        // Not started by this page: at its end, the transcript is set from the history, so a
        // question it did not see (another member's, or one before a reconnect) shows too.
        joinedLate: !mine,
      });
      ui.setState('busy', 'streaming');
      return sync();
    }
    case 'delta': {
      let current = shown;
      if (!current) {
        // The reply's start is not in the log any more (a reset): its tail follows.
        current = {
          reply: transcript.model('', { streaming: true }),
          shownSeq: frame.seq - 1,
          mine: false,
          joinedLate: true,
        };
        state.replies.delete(TAIL);
        state.replies.set(TAIL, current);
        state.running = TAIL;
        sync();
      }
      if (frame.seq <= current.shownSeq) return; // a replay of what is shown
      current.shownSeq = frame.seq;
      current.reply.append(frame.text);
      if (current.mine) metrics.token();
      return;
    }
    case 'done': {
      if (!shown) return;
      if (shown.mine) metrics.done(frame);
      shown.reply.finish(frame.finishReason);
      state.running = undefined;
      ui.setState('open', 'connected');
      sync();
      // The whole conversation, once: from the history now that the reply is stored.
      if (shown.joinedLate) void showHistory().catch((error) => wire.info(`history: ${error.message}`));
      return;
    }
    case 'reset':
      // The `after` of the join is older than the log: what was missed is in the history (and a
      // reply in flight follows from its start when `replaying`).
      return void showHistory().catch((error) => wire.info(`history: ${error.message}`));
    case 'error':
      return onError(frame, shown);
  }
}

function onError(frame, shown) {
  if (shown) {
    shown.reply.fail(`${frame.error.code}: ${frame.error.message}`);
    state.running = undefined;
  } else if (frame.error.code === 'session_not_found') {
    return sessionGone({ stale: !state.joinedOnce });
  } else if (state.pending) {
    // The server refused the send (busy, too long, rate limited): not sent, the text back in the input.
    transcript.tag(state.pending.question, `not sent: ${frame.error.message}`, 'not-sent');
    form.restore(state.pending.text);
    state.pending = undefined;
  } else transcript.note(`error: ${frame.error.code}: ${frame.error.message}`);
  sync();
}

/** The session is gone (the server restarted: sessions live in its memory). Keep what was said. */
function sessionGone(options) {
  state.gone = true;
  state.running = undefined;
  state.lastSeq = undefined;
  for (const shown of state.replies.values())
    if (shown.reply.el.classList.contains('streaming')) shown.reply.fail('connection lost mid-reply');
  sync();
  page.sessionGone(() => newSession({ keep: true }), options);
}

function newSession({ keep = false } = {}) {
  state.keep = keep && transcript.el.querySelector('.ui-bubble') !== null;
  state.gone = true; // join without an id: the server creates a session
  metrics.reset();
  if (!send({ type: 'join' })) connect();
}

function sendMessage(text) {
  stopTyping();
  const question = transcript.user(text);
  state.pending = { question, text };
  metrics.start();
  if (!send({ type: 'send', text })) {
    transcript.tag(question, 'not sent: not connected', 'not-sent');
    form.restore(text);
    state.pending = undefined;
  }
  sync();
}

const typers = new Map(); // connectionId → timer clearing a stale "is typing"
function showTyping(frame) {
  clearTimeout(typers.get(frame.connectionId));
  if (frame.active) {
    typers.set(
      frame.connectionId,
      setTimeout(() => {
        typers.delete(frame.connectionId);
        renderTyping();
      }, TYPING_STALE_MS),
    );
  } else typers.delete(frame.connectionId);
  renderTyping();
}
function renderTyping() {
  const names = [...typers.keys()].map((id) => `member ${id.slice(0, 4)}`);
  $('typing').textContent = names.length
    ? `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`
    : '';
}
let typingTimer;
$('input').addEventListener('input', () => {
  if (!typingTimer) send({ type: 'typing', active: true });
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
});
function stopTyping() {
  if (!typingTimer) return;
  clearTimeout(typingTimer);
  typingTimer = undefined;
  send({ type: 'typing', active: false });
}

$('stop').addEventListener('click', () => send({ type: 'cancel' }));
$('new').addEventListener('click', () => newSession());
$('share').addEventListener('click', () => {
  void navigator.clipboard
    ?.writeText(location.href)
    .then(() => ui.announce('link copied: open it in another tab'));
});

connect();
