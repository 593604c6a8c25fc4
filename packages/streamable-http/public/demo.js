// AUTH_TOKEN: open /demo?access_token=<token>; the shared module reads it and sends it as a header.
import * as ui from '/ui/ui.js';

const { $, api, authHeaders, errorOf } = ui;
const page = ui.demoPage({ onSend: send });
const { transcript, metrics, wire, form } = page;
const state = { sessionId: undefined, gone: false, controller: undefined, offline: false };
window.demo = state; // the tests read it
const sync = () =>
  form.set({ ready: Boolean(state.sessionId) && !state.gone, busy: Boolean(state.controller) });
/**
 * The reply in flight: `{ messageId, startSeq, after }`, where `after` is the `seq` of the last
 * line this page has. It is kept in sessionStorage (this tab) so that a reload can resume it too.
 */
const inflightKey = (id) => `ndjson-inflight:${id}`;
let inflight;
function remember(next) {
  inflight = next;
  if (next) sessionStorage.setItem(inflightKey(state.sessionId), JSON.stringify(next));
  else sessionStorage.removeItem(inflightKey(state.sessionId));
}
const RESUME_BACKOFF_MAX_MS = 4000;
/** Resume attempts after one drop before the page gives up (about 20 s with the backoff). */
const MAX_RESUME_ATTEMPTS = 8;

/**
 * Read a fetch body as NDJSON: yield one parsed event per complete line. The decoder runs in
 * streaming mode (a UTF-8 character can be split across chunks too) and `buffer` keeps the
 * partial last line until the chunk with its newline arrives.
 */
async function* ndjson(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      metrics.addBytes(value.byteLength);
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) {
          wire.down(line);
          yield JSON.parse(line);
        }
        newline = buffer.indexOf('\n');
      }
    }
    buffer += decoder.decode();
    if (buffer.trim()) yield JSON.parse(buffer);
  } finally {
    // Stopped early (a bad line, an abort): tell the browser we no longer want the body.
    await reader.cancel().catch(() => {});
  }
}

async function send(text) {
  ui.hideBanner();
  state.controller = new AbortController();
  sync();
  const question = transcript.user(text);
  metrics.start();
  ui.setState('busy', 'streaming');
  const path = `/sessions/${encodeURIComponent(state.sessionId)}/messages`;
  wire.up(`POST ${path}  ${JSON.stringify({ text })}`);
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { ...authHeaders, 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ text }),
      signal: state.controller.signal,
    });
  } catch {
    // The request never got an answer: it was not sent (as far as we can know).
    notSent(question, text, 'not sent: the server cannot be reached');
    return serverDown();
  }
  if (!response.ok) {
    // Refused before the stream started: the contract's {error:{code,message}}.
    const error = await errorOf(response);
    wire.down(
      `HTTP ${response.status}  ${JSON.stringify({ error: { code: error.code, message: error.message } })}`,
    );
    notSent(question, text, `not sent: ${error.message}`);
    if (error.code === 'session_not_found') sessionGone();
    return;
  }
  wire.info(`HTTP ${response.status} ${response.headers.get('content-type')}`);
  await follow(response, transcript.model('', { streaming: true }));
}

function notSent(question, text, why) {
  transcript.tag(question, why, 'not-sent');
  state.controller = undefined;
  ui.setState(state.gone ? 'gone' : 'open', state.gone ? 'session gone' : 'ready');
  sync();
  form.restore(text);
}

/**
 * Show a reply's events as they arrive; the same for a fresh reply and a resumed one. Every line
 * carries `seq`, its place in the session's reply log: the last one is where a resume starts.
 * Resolves with how the stream ended: "over" (done or error), "aborted" (Stop) or "lost".
 */
async function readReply(body, reply) {
  let fromHistory = false; // after a reset that cannot replay the reply: its text comes from the history
  try {
    for await (const event of ndjson(body)) {
      if (event.type === 'reset') {
        // The log no longer holds the point asked for. replaying: the reply follows from its start.
        if (event.replaying) reply.set('');
        else fromHistory = true;
        if (inflight) remember({ ...inflight, after: event.seq });
        continue;
      }
      if (event.type === 'start') {
        remember({ messageId: event.messageId, startSeq: event.seq, after: event.seq });
        continue;
      }
      if (inflight && typeof event.seq === 'number') remember({ ...inflight, after: event.seq });
      if (event.type === 'delta') {
        if (!fromHistory) reply.append(event.text);
        metrics.token();
      } else if (event.type === 'done') {
        if (fromHistory) await fillFromHistory(reply);
        else reply.finish(event.finishReason);
        metrics.done(event);
        return 'over';
      } else if (event.type === 'error') {
        // The stream had started (200 sent), so the failure arrives as the last line.
        reply.fail(`${event.error.code}: ${event.error.message}`);
        return 'over';
      }
    }
    if (fromHistory) {
      await fillFromHistory(reply); // the reply is over: the history has all of it
      return 'over';
    }
    throw new Error('the stream ended before its last event');
  } catch {
    return state.controller?.signal.aborted ? 'aborted' : 'lost';
  }
}

/** A reply, POSTed or resumed: read it, and resume it after every dropped connection. */
async function follow(response, reply) {
  for (let attempt = 0; ; attempt++) {
    const outcome = response ? await readReply(response.body, reply) : 'lost';
    if (outcome !== 'lost' || !inflight || state.controller.signal.aborted || attempt >= MAX_RESUME_ATTEMPTS)
      return endReply(reply, outcome);
    // The connection dropped mid-reply: the server keeps generating for a while, so read the
    // rest of it from the last line this page has (GET …/replies/:messageId?after=<seq>).
    reply.resuming(attempt === 0 ? 'connection lost: resuming…' : `resuming (attempt ${attempt + 1})…`);
    ui.setState('connecting', 'resuming');
    if (attempt > 0) {
      const delayMs = Math.min(RESUME_BACKOFF_MAX_MS, 250 * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    response = await openResume(inflight);
    if (response === 'gone') return endReply(reply, 'gone');
    if (response) ui.setState('busy', 'streaming');
  }
}

/** The reply's stream is over: "over", "aborted" (Stop), "lost" (could not resume), "gone". */
function endReply(reply, outcome) {
  if (outcome === 'aborted')
    reply.finish('cancelled'); // the server keeps the partial reply, marked interrupted
  else if (outcome === 'lost') reply.fail('connection lost mid-reply');
  else if (outcome === 'gone') reply.fail('the session is gone');
  remember(undefined);
  state.controller = undefined;
  if (outcome === 'lost') void serverDown();
  else if (!state.gone) ui.setState('open', 'ready');
  sync();
}

/**
 * GET /sessions/:id/replies/:messageId?after=<seq>: the reply's lines after that one, live to its
 * end. Undefined when it did not answer (try again), "gone" when the session no longer exists.
 */
async function openResume({ messageId, after }) {
  const path = `/sessions/${encodeURIComponent(state.sessionId)}/replies/${encodeURIComponent(messageId)}?after=${after}`;
  wire.up(`GET ${path}`);
  try {
    const response = await fetch(path, {
      headers: { ...authHeaders, accept: 'application/x-ndjson' },
      signal: state.controller.signal,
    });
    if (response.ok) {
      wire.info(`HTTP ${response.status} ${response.headers.get('content-type')}`);
      return response;
    }
    const error = await errorOf(response);
    wire.down(
      `HTTP ${response.status}  ${JSON.stringify({ error: { code: error.code, message: error.message } })}`,
    );
    if (error.code === 'session_not_found') {
      sessionGone();
      return 'gone';
    }
  } catch {}
  return undefined;
}

/** The reply's whole text from GET /sessions/:id/messages, once the server has stored it. */
async function fillFromHistory(reply) {
  for (;;) {
    const { messages } = await api('GET', `/sessions/${encodeURIComponent(state.sessionId)}/messages`).catch(
      () => ({ messages: [] }),
    );
    const last = messages.at(-1);
    if (last?.role === 'model') {
      reply.set(last.text);
      return reply.finish(last.interrupted ? 'cancelled' : 'stop');
    }
    if (state.controller?.signal.aborted) return reply.finish('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * A reply that was streaming when this page reloaded: the page has none of its text, so it reads
 * the reply from its start (after = the seq before its `start` line), then live to its end.
 */
async function resumeReply(saved) {
  inflight = { ...saved, after: saved.startSeq - 1 };
  state.controller = new AbortController();
  sync();
  metrics.start();
  ui.setState('busy', 'streaming');
  const reply = transcript.model('', { streaming: true });
  const response = await openResume(inflight);
  if (response === 'gone') return endReply(reply, 'gone');
  return follow(response, reply);
}

/** The server did not answer: say so, wait for it, then check that the session survived. */
async function serverDown() {
  if (state.offline) return;
  state.offline = true;
  await ui.untilReachable();
  state.offline = false;
  await checkSession();
}

async function checkSession() {
  try {
    await api('GET', `/sessions/${encodeURIComponent(state.sessionId)}`);
    ui.setState('open', 'ready');
  } catch (error) {
    if (error.code === 'session_not_found') sessionGone();
    else if (error.network) void serverDown();
  }
}

/** The session is gone (the server restarted: sessions live in its memory). Keep what was said. */
function sessionGone(options) {
  state.gone = true;
  sync();
  page.sessionGone(() => newSession({ keep: true }), options);
}

async function newSession({ keep = false } = {}) {
  try {
    const session = await api('POST', '/sessions');
    wire.up('POST /sessions');
    useSession(session.id);
    page.sessionStarted({ keep });
  } catch (error) {
    if (error.network) void serverDown();
    else page.failed(`Cannot create a session: ${error.message}`, () => newSession({ keep }));
  }
}

function useSession(id) {
  state.sessionId = id;
  state.gone = false;
  ui.hideBanner();
  page.showSession(id);
  ui.setState('open', 'ready');
  sync();
}

// Stop: closing the connection alone is not one (the server keeps the reply for a resume, as after
// a lost network), so POST /cancel first (204: stopped, the session is free), then abort the fetch.
$('stop').addEventListener('click', () => {
  const controller = state.controller;
  if (!controller || !state.sessionId) return;
  wire.up(`POST /sessions/${state.sessionId}/cancel`);
  void api('POST', `/sessions/${state.sessionId}/cancel`)
    .catch((error) => wire.info(`cancel: ${error.message}`))
    .finally(() => controller.abort());
});
$('new').addEventListener('click', () => void newSession());

// Start: the session in the link (with its history), or a new one.
const wanted = ui.sessionFromUrl();
try {
  if (!wanted) await newSession();
  else {
    const { messages } = await api('GET', `/sessions/${encodeURIComponent(wanted)}/messages`);
    useSession(wanted);
    transcript.history(messages);
    const saved = JSON.parse(sessionStorage.getItem(inflightKey(wanted)) ?? 'null');
    if (saved?.messageId && Number.isInteger(saved.startSeq) && messages.at(-1)?.role === 'user')
      void resumeReply(saved);
    else sessionStorage.removeItem(inflightKey(wanted)); // it finished while the page reloaded
  }
} catch (error) {
  if (error.code === 'session_not_found') {
    state.sessionId = wanted;
    sessionGone({ stale: true });
  } else if (error.network) void serverDown().then(() => (state.sessionId ? undefined : newSession()));
  else page.failed(`Cannot start: ${error.message}`, () => newSession(), 'Start a new session');
}
