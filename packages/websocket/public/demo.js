// AUTH_TOKEN, when the server has one: open /demo?access_token=<token>. A browser's WebSocket
// cannot set headers, so the token travels as a second subprotocol, `bearer.<token>`, offered
// next to the real one (the server answers with the real one); fetch() sends it as a header.
const token = new URLSearchParams(location.search).get('access_token');
const ui = await import(`/ui/ui.js${token ? `?access_token=${encodeURIComponent(token)}` : ''}`);
const { $, api } = ui;
const SUBPROTOCOL = 'genai-chat.v1';
const TYPING_IDLE_MS = 1500;
const TYPING_STALE_MS = 5000;
const MAX_BACKOFF_MS = 8000;

const transcript = new ui.Transcript($('transcript'));
const metrics = new ui.Metrics($('metrics'));
const wire = new ui.Wire($('wire'));
const form = ui.composer({
  form: $('form'),
  input: $('input'),
  send: $('send'),
  stop: $('stop'),
  onSend: sendMessage,
});
const state = {
  socket: undefined,
  // The session lives in the URL (?session=; #<id> links from before still work).
  sessionId: ui.sessionFromUrl() ?? (location.hash.slice(1) || undefined),
  connectionId: undefined,
  gone: false,
  attempt: 0,
  /** messageId → { reply, nextIndex, mine, joinedLate } */
  replies: new Map(),
  running: undefined,
  /** The message this page sent that has not started a reply yet: { question, text }. */
  pending: undefined,
  /** Keep the transcript on the next `joined` (a new session after the old one was gone). */
  keep: false,
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
 * Join the session (none: the server creates one). RESUME PLUGS IN HERE (issue 17): `after` is
 * the last delta index this page has of the reply running, and a server that supports
 * `join {sessionId, after}` replays the rest; replays are skipped by index in onFrame.
 */
function join() {
  const running = state.running && state.replies.get(state.running);
  send(
    state.sessionId && !state.gone
      ? { type: 'join', sessionId: state.sessionId, ...(running ? { after: running.nextIndex - 1 } : {}) }
      : { type: 'join' },
  );
}

function connect() {
  clearTimeout(state.reconnectTimer);
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const socket = new WebSocket(url, token ? [SUBPROTOCOL, `bearer.${token}`] : [SUBPROTOCOL]);
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
    onFrame(JSON.parse(event.data), new TextEncoder().encode(event.data).byteLength);
  });
  socket.addEventListener('close', (event) => void onClose(socket, event, opened));
}

async function onClose(socket, event, opened) {
  if (socket !== state.socket) return;
  state.connectionId = undefined;
  wire.info(`closed ${event.code}${event.reason ? ` ${event.reason}` : ''}`);
  for (const shown of state.replies.values())
    if (shown.reply.el.classList.contains('streaming')) shown.reply.fail('connection lost mid-reply');
  state.running = undefined;
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
    ui.showBanner(
      `The server is up but refused the WebSocket handshake${token ? ' (is the token right?)' : ' (does it need ?access_token=…, or is this origin not allowed?)'}.`,
      {
        kind: 'bad',
        actions: [
          {
            label: 'Try again',
            run: () => {
              ui.hideBanner();
              state.attempt = 0;
              connect();
            },
          },
        ],
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
  const same = frame.session.id === state.sessionId && !state.keep && state.joinedOnce;
  state.connectionId = frame.connectionId;
  state.sessionId = frame.session.id;
  state.gone = false;
  state.joinedOnce = true;
  ui.hideBanner();
  ui.setSessionInUrl(state.sessionId);
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  $('session').textContent = ui.shortId(state.sessionId);
  $('session').title = state.sessionId;
  ui.setState('open', 'connected');
  sync();
  // The history (REST) is the truth on every join, a reconnect included: what was missed is in it.
  const { messages } = await api('GET', `/sessions/${encodeURIComponent(state.sessionId)}/messages`);
  if (state.keep) {
    state.keep = false;
    transcript.divider('new session');
  } else {
    transcript.clear();
    state.replies.clear();
    if (same) transcript.note('reconnected: the conversation below is the server’s history');
  }
  transcript.history(messages);
  if (messages.at(-1)?.role === 'user')
    transcript.note(
      'A reply is running in this session; it continues below from where this connection joined it.',
    );
}

function onFrame(frame, bytes) {
  const shown = frame.messageId && state.replies.get(frame.messageId);
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
      const mine = frame.connectionId === state.connectionId && Boolean(state.pending);
      if (mine) state.pending = undefined;
      state.running = frame.messageId;
      state.replies.set(frame.messageId, {
        reply: transcript.model('', { streaming: true }),
        nextIndex: 0,
        mine,
      });
      ui.setState('busy', 'streaming');
      return sync();
    }
    case 'delta': {
      let current = shown;
      if (!current) {
        // This connection joined mid-reply: the start went out before it joined (resume: issue 17).
        current = {
          reply: transcript.model('', { streaming: true }),
          nextIndex: frame.index,
          mine: false,
          joinedLate: true,
        };
        state.replies.set(frame.messageId, current);
        state.running = frame.messageId;
        sync();
      }
      if (frame.index < current.nextIndex) return; // a replay of what is shown
      current.nextIndex = frame.index + 1;
      current.reply.append(frame.text);
      if (current.mine) metrics.token();
      return;
    }
    case 'done': {
      if (!shown) return;
      if (shown.mine) metrics.done(frame);
      if (shown.joinedLate) {
        // The whole reply, once: from the history now that it has finished.
        void api('GET', `/sessions/${encodeURIComponent(state.sessionId)}/messages`).then(({ messages }) => {
          const last = messages.at(-1);
          if (last?.role === 'model') shown.reply.set(last.text);
          shown.reply.finish(frame.finishReason);
        });
      } else shown.reply.finish(frame.finishReason);
      state.running = undefined;
      ui.setState('open', 'connected');
      return sync();
    }
    case 'error':
      return onError(frame, shown);
  }
}

function onError(frame, shown) {
  if (shown) {
    shown.reply.fail(`${frame.error.code}: ${frame.error.message}`);
    state.running = undefined;
  } else if (frame.error.code === 'session_not_found') {
    return sessionGone(
      state.joinedOnce
        ? undefined
        : 'The session in this link does not exist (any more): the server restarted or the session expired.',
    );
  } else if (state.pending) {
    // The server refused the send (busy, too long, rate limited): not sent, the text back in the input.
    transcript.tag(state.pending.question, `not sent: ${frame.error.message}`, 'not-sent');
    form.restore(state.pending.text);
    state.pending = undefined;
  } else transcript.note(`error: ${frame.error.code}: ${frame.error.message}`);
  sync();
}

/** The session is gone (the server restarted: sessions live in its memory). Keep what was said. */
function sessionGone(
  message = 'This session no longer exists on the server: it restarted (sessions live in its memory) or the session expired. The conversation above stays here to read.',
) {
  state.gone = true;
  state.running = undefined;
  sync();
  ui.setState('gone', 'session gone');
  transcript.markStale();
  ui.showBanner(message, {
    kind: 'bad',
    actions: [{ label: 'Start a new session', primary: true, run: () => newSession({ keep: true }) }],
  });
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

transcript.clear();
connect();
