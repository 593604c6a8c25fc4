// gRPC-Web demo: the browser's client is @connectrpc/connect-web's gRPC-Web transport and the
// protobuf-es code generated from the proto (generated/es/), bundled by the server with esbuild
// (src/web-pages.ts). What the transport sends and receives is also shown as it is on the wire:
// the fetch below tees each answer's body and splits it into gRPC-Web frames.
import { fromBinary, toJsonString } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
// The page's design (/ui/ui.js) is not bundled: the server serves it to every demo. AUTH_TOKEN:
// open /demo?access_token=<token>; ui.js reads it and every call sends `authorization: Bearer`.
import * as ui from '/ui/ui.js';
import { ChatService, FinishReason, Role } from '../generated/es/genai/chat/v1/chat_pb.js';

const { $ } = ui;
const page = ui.demoPage({ onSend: send });
const { transcript, metrics, wire, form } = page;

/** Method name (the last part of the URL path) → its descriptor, to decode the frames shown. */
const METHODS = new Map(ChatService.methods.map((m) => [m.name, m]));
const FLAG_DATA = 0x00;
const FLAG_TRAILERS = 0x80;
const PREFIX_BYTES = 5;

const state = {
  sessionId: undefined,
  /** The call running now: { controller, messageId, reply, lastSeq, stopped }. */
  running: undefined,
  resumes: 0,
  /** Every seq received, in order (the tests check it). */
  seqs: [],
  /** Every frame seen on the wire: { dir, flag, bytes } (the tests check the trailer frame). */
  frames: [],
};
window.demo = state;
const sync = () => form.set({ ready: Boolean(state.sessionId), busy: Boolean(state.running) });

/** One frame's text for the wire panel: a message as JSON, the trailers as their lines. */
function describeFrame(method, dir, flag, payload) {
  const kind = flag === FLAG_DATA ? 'data' : flag === FLAG_TRAILERS ? 'trailers' : 'unknown';
  const head = `${dir === 'up' ? 'request ' : ''}frame flag 0x${flag.toString(16).padStart(2, '0')} (${kind}) length ${payload.byteLength}`;
  if (flag === FLAG_TRAILERS) return `${head}\n${new TextDecoder().decode(payload).trim()}`;
  if (flag !== FLAG_DATA || !method) return head;
  const schema = dir === 'up' ? method.input : method.output;
  try {
    return `${head}  ${toJsonString(schema, fromBinary(schema, payload))}`;
  } catch {
    return `${head}  (not a ${schema.typeName})`;
  }
}

/** Split a byte stream into gRPC-Web frames as they complete: [flag][uint32 BE length][payload]. */
function framer(onFrame) {
  let buffer = new Uint8Array(0);
  return (chunk) => {
    const joined = new Uint8Array(buffer.byteLength + chunk.byteLength);
    joined.set(buffer);
    joined.set(chunk, buffer.byteLength);
    buffer = joined;
    while (buffer.byteLength >= PREFIX_BYTES) {
      const length = new DataView(buffer.buffer, buffer.byteOffset).getUint32(1);
      if (buffer.byteLength < PREFIX_BYTES + length) break;
      onFrame(buffer[0], buffer.subarray(PREFIX_BYTES, PREFIX_BYTES + length));
      buffer = buffer.slice(PREFIX_BYTES + length);
    }
  };
}

/** The transport's fetch: the real one, with the request and every answer frame on the wire panel. */
async function wireFetch(input, init) {
  const url = new URL(typeof input === 'string' ? input : input.url, location.href);
  const name = url.pathname.split('/').pop();
  const method = METHODS.get(name);
  wire.up(`POST ${url.pathname}  content-type: ${new Headers(init?.headers).get('content-type')}`);
  if (init?.body instanceof Uint8Array)
    framer((flag, payload) => {
      state.frames.push({ dir: 'up', flag, bytes: payload.byteLength });
      wire.up(describeFrame(method, 'up', flag, payload));
    })(init.body);
  const response = await fetch(input, init);
  wire.down(`HTTP ${response.status}  content-type: ${response.headers.get('content-type')}`);
  if (!response.body) return response;
  const [forClient, forWire] = response.body.tee();
  const frames = framer((flag, payload) => {
    state.frames.push({ dir: 'down', flag, bytes: payload.byteLength });
    if (state.running && name !== 'GetHistory') metrics.addBytes(PREFIX_BYTES + payload.byteLength);
    wire.down(describeFrame(method, 'down', flag, payload));
  });
  void (async () => {
    const reader = forWire.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        frames(value);
      }
    } catch {
      wire.info(`${name}: the answer's body ended early (aborted or dropped)`);
    }
  })();
  return new Response(forClient, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

const transport = createGrpcWebTransport({
  baseUrl: location.origin,
  fetch: wireFetch,
  interceptors: [
    (next) => (request) => {
      for (const [key, value] of Object.entries(ui.authHeaders)) request.header.set(key, value);
      return next(request);
    },
  ],
});
const client = createClient(ChatService, transport);

const FINISH = {
  [FinishReason.STOP]: 'stop',
  [FinishReason.CANCELLED]: 'cancelled',
  [FinishReason.MAX_TOKENS]: 'max_tokens',
};
const RESUME_TRIES = 3;

/**
 * The reply in flight, `{ messageId, startSeq }` (the seq of its `start`), kept in this tab's
 * sessionStorage so that a reloaded page reads it again with ResumeStream (resumeAfterReload).
 */
const inflightKey = (id) => `grpc-web-inflight:${id}`;
function remember(messageId, startSeq) {
  if (!state.sessionId) return;
  if (messageId)
    sessionStorage.setItem(
      inflightKey(state.sessionId),
      JSON.stringify({ messageId, startSeq: Number(startSeq) }),
    );
  else sessionStorage.removeItem(inflightKey(state.sessionId));
}

/** Read one stream's events into the running reply; resolves when the call ends (or throws). */
async function consume(stream, call) {
  for await (const { event, seq } of stream) {
    state.seqs.push(Number(seq));
    call.lastSeq = seq;
    $('last-seq').textContent = String(seq);
    if (event.case === 'start') {
      call.messageId = event.value.messageId;
      remember(call.messageId, seq);
      ui.setState('busy', 'streaming');
    } else if (event.case === 'delta') {
      if (seq <= call.shownSeq) continue; // already shown (a replay): a delta is known by its seq
      call.shownSeq = seq;
      call.reply.append(event.value.text);
      metrics.token();
    } else if (event.case === 'done') {
      call.finished = true;
      remember(undefined);
      call.reply.finish(FINISH[event.value.finishReason] ?? 'stop');
      metrics.done(event.value);
    } else if (event.case === 'error') {
      call.finished = true;
      remember(undefined);
      call.reply.fail(`${event.value.error?.code}: ${event.value.error?.message}`);
    } else if (event.case === 'reset') {
      wire.info(`reset: ${event.value.reason}`);
    }
  }
}

async function send(text) {
  transcript.user(text);
  metrics.start();
  const call = {
    controller: new AbortController(),
    messageId: undefined,
    reply: transcript.model('', { streaming: true }),
    lastSeq: 0n,
    shownSeq: 0n,
    finished: false,
    stopped: false,
  };
  state.running = call;
  sync();
  const signal = call.controller.signal;
  try {
    try {
      await consume(client.streamMessage({ sessionId: state.sessionId, text }, { signal }), call);
    } catch (error) {
      // A dropped connection after the start: ResumeStream from the last seq, a few times.
      let failure = error;
      for (
        let tries = 0;
        !signal.aborted && !call.finished && call.messageId && tries < RESUME_TRIES;
        tries++
      ) {
        if (ConnectError.from(failure).code === Code.Canceled) break;
        state.resumes += 1;
        $('resumes').textContent = String(state.resumes);
        call.reply.resuming();
        wire.info(`connection lost: ResumeStream after seq ${call.lastSeq}`);
        try {
          const stream = client.resumeStream(
            { sessionId: state.sessionId, messageId: call.messageId, after: call.lastSeq },
            { signal },
          );
          await consume(stream, call);
          failure = undefined;
          break;
        } catch (again) {
          failure = again;
        }
      }
      if (failure) throw failure;
    }
  } catch (error) {
    const failure = ConnectError.from(error);
    if (call.stopped || failure.code === Code.Canceled) {
      // Stop: the fetch was aborted; the server's call signal stopped the model.
      wire.info('the call was aborted');
      if (!call.finished) call.reply.finish('cancelled');
    } else if (!call.finished) {
      call.reply.fail(`${Code[failure.code]}: ${failure.rawMessage}`);
      if (failure.code === Code.NotFound) sessionGone();
    }
  } finally {
    if (state.running === call) state.running = undefined;
    ui.setState('open', 'ready');
    sync();
  }
}

// Stop is CancelReply: closing a StreamMessage call alone leaves its reply a resume grace (a
// dropped connection must be able to come back), so the page says "stop" in a second call, as
// "send while streaming" needs one: gRPC-Web has no client streaming. The stream then ends with
// done (finishReason cancelled) and the trailers. If CancelReply cannot be sent, the page aborts
// the fetch, and the server's call signal ends the reading.
$('stop').title = 'CancelReply: a second call tells the model to stop';
$('stop').addEventListener('click', async () => {
  const call = state.running;
  if (!call) return;
  call.stopped = true;
  try {
    const { cancelled } = await client.cancelReply({ sessionId: state.sessionId });
    wire.info(`CancelReply: ${cancelled ? 'the model was told to stop' : 'no reply was running'}`);
  } catch (error) {
    wire.info(`CancelReply failed (${ConnectError.from(error).rawMessage}): abort() ends the call`);
    call.controller.abort();
  }
});
// Leaving the page ends the call (the server keeps the reply for its resume grace).
addEventListener('pagehide', () => state.running?.controller.abort());

async function showHistory() {
  const { messages } = await client.getHistory({ sessionId: state.sessionId });
  transcript.clear();
  transcript.history(
    messages.map((m) => ({
      role: m.role === Role.USER ? 'user' : 'model',
      text: m.text,
      interrupted: m.interrupted,
    })),
  );
  return { messages };
}

function sessionGone(options) {
  state.sessionId = undefined;
  sync();
  page.sessionGone(() => newSession({ keep: true }), options);
}

function useSession(id) {
  state.sessionId = id;
  ui.hideBanner();
  page.showSession(id);
  ui.setState('open', 'ready');
  sync();
}

async function newSession({ keep = false } = {}) {
  try {
    const { session } = await client.createSession({});
    useSession(session.id);
    page.sessionStarted({ keep });
  } catch (error) {
    const failure = ConnectError.from(error);
    page.failed(`Cannot create a session: ${Code[failure.code]}: ${failure.rawMessage}`, () =>
      newSession({ keep }),
    );
  }
}
$('new').addEventListener('click', () => void newSession());

/**
 * A reply that was streaming when this page reloaded: the page has none of its text, so it reads
 * the reply with ResumeStream from its start (after = the seq before its `start`), live to its end.
 */
async function resumeAfterReload(saved) {
  metrics.start();
  const after = BigInt(saved.startSeq - 1);
  const call = {
    controller: new AbortController(),
    messageId: saved.messageId,
    reply: transcript.model('', { streaming: true }),
    lastSeq: after,
    shownSeq: after,
    finished: false,
    stopped: false,
  };
  state.running = call;
  state.resumes += 1;
  $('resumes').textContent = String(state.resumes);
  sync();
  ui.setState('busy', 'streaming');
  wire.info(`the page reloaded mid-reply: ResumeStream after seq ${after}`);
  try {
    const stream = client.resumeStream(
      { sessionId: state.sessionId, messageId: saved.messageId, after },
      { signal: call.controller.signal },
    );
    await consume(stream, call);
    if (!call.finished) call.reply.finish('cancelled');
  } catch (error) {
    const failure = ConnectError.from(error);
    if (call.stopped || failure.code === Code.Canceled) call.reply.finish('cancelled');
    else call.reply.fail(`${Code[failure.code]}: ${failure.rawMessage}`);
    remember(undefined);
  } finally {
    if (state.running === call) state.running = undefined;
    ui.setState('open', 'ready');
    sync();
  }
}

// Start: the session in the link (its history), or a new one.
const wanted = ui.sessionFromUrl();
if (!wanted) await newSession();
else {
  try {
    await client.getSession({ sessionId: wanted });
    useSession(wanted);
    const { messages } = await showHistory();
    // A reply this tab was reading when it reloaded, and that has not been stored yet: read it.
    const saved = JSON.parse(sessionStorage.getItem(inflightKey(wanted)) ?? 'null');
    if (saved?.messageId && Number.isInteger(saved.startSeq) && messages.at(-1)?.role === Role.USER)
      void resumeAfterReload(saved);
    else remember(undefined); // it finished while the page reloaded
  } catch (error) {
    if (ConnectError.from(error).code === Code.NotFound) sessionGone({ stale: true });
    else await newSession();
  }
}
