// AUTH_TOKEN: open /demo?access_token=<token>; the shared module reads it and sends it as a header.
const token = new URLSearchParams(location.search).get('access_token');
const ui = await import(`/ui/ui.js${token ? `?access_token=${encodeURIComponent(token)}` : ''}`);
const { $, api, authHeaders, errorOf } = ui;

const transcript = new ui.Transcript($('transcript'));
const metrics = new ui.Metrics($('metrics'));
const wire = new ui.Wire($('wire'));
const form = ui.composer({
  form: $('form'),
  input: $('input'),
  send: $('send'),
  stop: $('stop'),
  onSend: send,
});
const state = { sessionId: undefined, gone: false, controller: undefined, offline: false };
window.demo = state; // the tests read it
const sync = () =>
  form.set({ ready: Boolean(state.sessionId) && !state.gone, busy: Boolean(state.controller) });
/** The reply in flight, kept across a reload so that it can be resumed (sessionStorage, this tab). */
const inflightKey = (id) => `ndjson-inflight:${id}`;

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
  await readReply(response.body, transcript.model('', { streaming: true }));
}

function notSent(question, text, why) {
  transcript.tag(question, why, 'not-sent');
  state.controller = undefined;
  ui.setState(state.gone ? 'gone' : 'open', state.gone ? 'session gone' : 'ready');
  sync();
  form.restore(text);
}

/** Show a reply's events as they arrive; the same for a fresh reply and a resumed one. */
async function readReply(body, reply) {
  let finished = false;
  try {
    for await (const event of ndjson(body)) {
      if (event.type === 'start') {
        sessionStorage.setItem(
          inflightKey(state.sessionId),
          JSON.stringify({ messageId: event.messageId, after: 0 }),
        );
      } else if (event.type === 'delta') {
        reply.append(event.text);
        metrics.token();
      } else if (event.type === 'done') {
        finished = true;
        reply.finish(event.finishReason);
        metrics.done(event);
      } else if (event.type === 'error') {
        // The stream had started (200 sent), so the failure arrives as the last line.
        finished = true;
        reply.fail(`${event.error.code}: ${event.error.message}`);
      }
    }
    if (!finished) throw new Error('the stream ended before its last event');
    ui.setState('open', 'ready');
  } catch {
    if (state.controller?.signal.aborted) {
      reply.finish('cancelled'); // the server keeps the partial reply, marked interrupted
      ui.setState('open', 'ready');
    } else {
      reply.fail('connection lost mid-reply');
      void serverDown();
    }
  } finally {
    sessionStorage.removeItem(inflightKey(state.sessionId));
    state.controller = undefined;
    sync();
  }
}

/**
 * A reply that was streaming when this page reloaded. RESUME PLUGS IN HERE (issue 17): when the
 * server answers GET /sessions/:id/replies/:messageId?after=N with the rest of the reply as
 * NDJSON, the `response.ok` branch below is the whole of it. Until then the page says so and
 * shows the reply from the history once it has finished.
 */
async function resumeReply({ messageId, after }) {
  const path = `/sessions/${encodeURIComponent(state.sessionId)}/replies/${encodeURIComponent(messageId)}?after=${after}`;
  state.controller = new AbortController();
  sync();
  const response = await fetch(path, { headers: authHeaders, signal: state.controller.signal }).catch(
    () => undefined,
  );
  if (response?.ok) {
    wire.up(`GET ${path}`);
    metrics.start();
    return readReply(response.body, transcript.model('', { streaming: true }));
  }
  // Today the reload closed the reply's connection, so the server stopped it and keeps the part
  // written so far, marked interrupted: that lands in the history in a moment.
  const waiting = transcript.note(
    'A reply was streaming when the page reloaded; leaving the page stopped it. This server cannot resume an NDJSON reply yet: what it wrote appears here.',
  );
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (state.controller.signal.aborted) break;
    const { messages } = await api('GET', `/sessions/${state.sessionId}/messages`).catch(() => ({
      messages: [],
    }));
    if (messages.at(-1)?.role === 'model') {
      const last = messages.at(-1);
      const reply = transcript.model(last.text);
      reply.finish(last.interrupted ? 'cancelled' : 'stop');
      break;
    }
  }
  waiting.remove();
  sessionStorage.removeItem(inflightKey(state.sessionId));
  state.controller = undefined;
  sync();
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
function sessionGone(
  message = 'This session no longer exists on the server: it restarted (sessions live in its memory) or the session expired. The conversation above stays here to read.',
) {
  state.gone = true;
  sync();
  ui.setState('gone', 'session gone');
  transcript.markStale();
  ui.showBanner(message, {
    kind: 'bad',
    actions: [{ label: 'Start a new session', primary: true, run: () => newSession({ keep: true }) }],
  });
}

async function newSession({ keep = false } = {}) {
  try {
    const session = await api('POST', '/sessions');
    wire.up('POST /sessions');
    useSession(session.id);
    if (keep) transcript.divider('new session');
    else transcript.clear();
    metrics.reset();
    $('input').focus();
  } catch (error) {
    if (error.network) void serverDown();
    else
      ui.showBanner(`Cannot create a session: ${error.message}`, {
        kind: 'bad',
        actions: [{ label: 'Try again', run: () => newSession({ keep }) }],
      });
  }
}

function useSession(id) {
  state.sessionId = id;
  state.gone = false;
  ui.hideBanner();
  ui.setSessionInUrl(id);
  $('session').textContent = ui.shortId(id);
  $('session').title = id;
  ui.setState('open', 'ready');
  sync();
}

$('stop').addEventListener('click', () => state.controller?.abort());
$('new').addEventListener('click', () => void newSession());

// Start: the session in the link (with its history), or a new one.
const wanted = ui.sessionFromUrl();
transcript.clear();
try {
  if (!wanted) await newSession();
  else {
    const { messages } = await api('GET', `/sessions/${encodeURIComponent(wanted)}/messages`);
    useSession(wanted);
    transcript.history(messages);
    const inflight = JSON.parse(sessionStorage.getItem(inflightKey(wanted)) ?? 'null');
    if (inflight && messages.at(-1)?.role === 'user') void resumeReply(inflight);
  }
} catch (error) {
  if (error.code === 'session_not_found') {
    state.sessionId = wanted;
    sessionGone(
      'The session in this link does not exist (any more): the server restarted or the session expired.',
    );
    transcript.clear('Nothing to show for this link.');
  } else if (error.network) void serverDown().then(() => (state.sessionId ? undefined : newSession()));
  else
    ui.showBanner(`Cannot start: ${error.message}`, {
      kind: 'bad',
      actions: [{ label: 'Start a new session', run: () => newSession() }],
    });
}
