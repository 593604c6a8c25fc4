// AUTH_TOKEN: open /demo?access_token=<token>. fetch() sends it as a header; EventSource cannot
// set headers, so the stream URL carries it as ?access_token= (the server redacts it from its logs).
import * as ui from '/ui/ui.js';

const { $, api } = ui;
const page = ui.demoPage({ onSend: send });
const { transcript, metrics, wire, form } = page;
const state = {
  sessionId: undefined,
  source: undefined,
  opened: false,
  gone: false,
  reconnects: 0,
  /** Every event id received, in order: the tests check it for gaps and duplicates. */
  ids: [],
  /** messageId → { reply, shownSeq } for the replies on screen. */
  replies: new Map(),
  /** The reply running in this session (whoever asked): Stop cancels it. */
  running: undefined,
  /** What this tab sent and has not seen start yet: { question, text }. */
  pending: undefined,
  /** The history ended with a question (a reply in flight at load): its start adds no question. */
  questionShown: false,
};
window.demo = state;
const sync = () =>
  form.set({
    ready: Boolean(state.sessionId) && !state.gone && state.opened,
    busy: Boolean(state.running || state.pending),
  });

function openStream() {
  state.source?.close();
  state.opened = false;
  ui.setState('connecting', 'connecting');
  const path = `/sessions/${encodeURIComponent(state.sessionId)}/events`;
  wire.up(`GET ${path}  (EventSource)`);
  const source = new EventSource(ui.withToken(path));
  state.source = source;
  source.addEventListener('open', () => {
    if (state.opened || state.reconnects)
      wire.info(`reconnected: the browser sent Last-Event-ID: ${$('last-id').textContent}`);
    state.opened = true;
    state.lost = false;
    ui.hideBanner();
    ui.setState('open', 'stream open');
    sync();
  });
  // A ChatEvent `error` arrives as `event: chat-error`: EventSource's own `error` is the connection's.
  for (const name of ['start', 'delta', 'done', 'chat-error', 'reset']) {
    source.addEventListener(name, (ev) => onEvent(name === 'chat-error' ? 'error' : name, ev));
  }
  source.addEventListener('error', () => onConnectionError(source));
}

async function onConnectionError(source) {
  if (source !== state.source) return;
  const wasOpen = state.opened;
  state.opened = false;
  sync();
  if (wasOpen) {
    state.reconnects += 1;
    $('reconnects').textContent = String(state.reconnects);
  }
  if (source.readyState === EventSource.CONNECTING) {
    // EventSource retries by itself (with Last-Event-ID); meanwhile find out, once per outage,
    // whether the server is there.
    if (state.lost) return;
    state.lost = true;
    ui.setState('connecting', 'reconnecting…');
    wire.info('stream lost: EventSource reconnects by itself');
    try {
      await api('GET', '/health');
    } catch {
      await ui.untilReachable(
        'The server cannot be reached. EventSource keeps retrying; the page checks every second…',
      );
      if (!state.opened && !state.gone) ui.setState('connecting', 'reconnecting…');
    }
    state.lost = false;
    return;
  }
  // CLOSED: the server answered the reconnect with an error (404 after a restart, 401): find out which.
  wire.info('stream closed for good: the server refused the reconnect');
  try {
    await api('GET', `/sessions/${encodeURIComponent(state.sessionId)}`);
    openStream(); // the session is there: a passing refusal, open a fresh stream
  } catch (error) {
    if (error.code === 'session_not_found') sessionGone();
    else if (error.network) {
      await ui.untilReachable();
      void onConnectionError(source);
    } else {
      ui.setState('closed', 'refused');
      ui.showBanner(`The server refused the stream: ${error.message}`, {
        kind: 'bad',
        actions: [{ label: 'Try again', run: openStream }],
      });
    }
  }
}

function onEvent(type, ev) {
  $('last-id').textContent = ev.lastEventId || 'none';
  wire.down(`id: ${ev.lastEventId}\nevent: ${type}\ndata: ${ev.data}`);
  // EventSource hands over id, event and data only; this is the size of that field block.
  const bytes = new TextEncoder().encode(
    `id: ${ev.lastEventId}\nevent: ${type}\ndata: ${ev.data}\n\n`,
  ).byteLength;
  const event = JSON.parse(ev.data);
  if (type !== 'reset') state.ids.push(Number(ev.lastEventId));
  if (type === 'reset') {
    wire.info(`reset: ${event.reason}; reloading the history`);
    void showHistory();
    return;
  }
  if (type === 'start') return onStart(event);
  // A delta is its text alone (data: "Hel"): it belongs to the reply in flight, its id orders it.
  const shown = state.replies.get(type === 'delta' ? state.running : event.messageId);
  if (!shown) return;
  if (shown.mine) metrics.addBytes(bytes);
  if (type === 'delta') {
    const seq = Number(ev.lastEventId);
    if (seq <= shown.shownSeq) return; // already shown (a replay)
    shown.shownSeq = seq;
    shown.reply.append(event);
    if (shown.mine) metrics.token();
  } else if (type === 'done') {
    shown.reply.finish(event.finishReason);
    if (shown.mine) metrics.done(event);
    endReply(event.messageId);
  } else if (type === 'error') {
    shown.reply.fail(`${event.error.code}: ${event.error.message}`);
    endReply(event.messageId);
  }
}

function onStart(event) {
  if (state.replies.has(event.messageId)) return;
  const mine = Boolean(state.pending);
  if (mine) state.pending = undefined;
  else if (state.questionShown)
    state.questionShown = false; // the question came with the history
  else {
    // Another tab or device asked: its question is the last user message of the history.
    const question = transcript.user('…', 'another client');
    void api('GET', `/sessions/${state.sessionId}/messages`).then(({ messages }) => {
      question.querySelector('.ui-body').textContent =
        messages.findLast((m) => m.role === 'user')?.text ?? '';
    });
  }
  state.running = event.messageId;
  state.replies.set(event.messageId, {
    reply: transcript.model('', { streaming: true }),
    shownSeq: 0,
    mine,
  });
  ui.setState('busy', 'streaming');
  sync();
}

function endReply(messageId) {
  if (state.running === messageId) state.running = undefined;
  if (state.opened) ui.setState('open', 'stream open');
  sync();
}

async function send(text) {
  const question = transcript.user(text);
  state.pending = { question, text };
  metrics.start();
  sync();
  const path = `/sessions/${encodeURIComponent(state.sessionId)}/messages`;
  wire.up(`POST ${path}  ${JSON.stringify({ text })}`);
  try {
    const { messageId } = await api('POST', path, { text });
    wire.down(`HTTP 202  ${JSON.stringify({ messageId })}`);
  } catch (error) {
    wire.down(`${error.status ? `HTTP ${error.status}` : 'no answer'}  ${error.code}: ${error.message}`);
    // Rejected (or never arrived): marked not sent, the text back in the input.
    if (state.pending?.question === question) state.pending = undefined;
    transcript.tag(question, `not sent: ${error.message}`, 'not-sent');
    sync();
    form.restore(text);
    if (error.code === 'session_not_found') sessionGone();
    else if (error.network) await ui.untilReachable();
  }
}

async function showHistory() {
  const { messages } = await api('GET', `/sessions/${encodeURIComponent(state.sessionId)}/messages`);
  transcript.clear();
  state.replies.clear();
  transcript.history(messages);
  // A reply in flight now: its question is in the history, its events come on the fresh stream.
  state.questionShown = messages.at(-1)?.role === 'user';
}

/** The session is gone (the server restarted: sessions live in its memory). Keep what was said. */
function sessionGone(options) {
  state.source?.close();
  state.gone = true;
  for (const { reply } of state.replies.values())
    if (reply.el.classList.contains('streaming')) reply.fail('connection lost mid-reply');
  state.running = undefined;
  state.pending = undefined;
  sync();
  page.sessionGone(() => newSession({ keep: true }), options);
}

async function newSession({ keep = false } = {}) {
  try {
    wire.up('POST /sessions');
    const session = await api('POST', '/sessions');
    useSession(session.id);
    state.replies.clear();
    page.sessionStarted({ keep });
    openStream();
  } catch (error) {
    if (error.network) await ui.untilReachable();
    else page.failed(`Cannot create a session: ${error.message}`, () => newSession({ keep }));
  }
}

function useSession(id) {
  state.sessionId = id;
  state.gone = false;
  state.running = undefined;
  state.pending = undefined;
  state.ids = [];
  ui.hideBanner();
  page.showSession(id);
  sync();
}

$('stop').addEventListener('click', () => {
  wire.up(`POST /sessions/${state.sessionId}/cancel`);
  void api('POST', `/sessions/${state.sessionId}/cancel`).catch((error) =>
    wire.info(`cancel: ${error.message}`),
  );
});
$('drop').addEventListener('click', async () => {
  try {
    wire.up(`POST /sessions/${state.sessionId}/events/drop`);
    const { dropped } = await api('POST', `/sessions/${state.sessionId}/events/drop`);
    wire.info(`the server dropped ${dropped} stream(s); watch EventSource come back with Last-Event-ID`);
  } catch (error) {
    wire.info(`drop: ${error.message}`);
  }
});
$('new').addEventListener('click', () => void newSession());

// Start: the session in the link (its history, then its stream), or a new one.
const wanted = ui.sessionFromUrl();
try {
  if (!wanted) await newSession();
  else {
    await api('GET', `/sessions/${encodeURIComponent(wanted)}`);
    useSession(wanted);
    await showHistory();
    openStream();
  }
} catch (error) {
  if (error.code === 'session_not_found') {
    state.sessionId = wanted;
    sessionGone({ stale: true });
  } else if (error.network) await ui.untilReachable().then(() => newSession());
  else page.failed(`Cannot start: ${error.message}`, () => newSession(), 'Start a new session');
}
