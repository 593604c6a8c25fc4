// The race page (GET /lab.js): one prompt over REST, NDJSON, SSE, WebSocket and gRPC-Web at one instant,
// each lane through its @gtp/netem proxy. The page's Content-Security-Policy runs only the lab's
// own script files, never inline script, so lab.html loads this. "Drop connection" resets a
// lane's proxied connections: SSE, NDJSON, WebSocket and gRPC-Web resume from the reply log, REST cannot.
const ui = await import('/ui/ui.js');
// The gRPC lane's client (connect-web + the generated protobuf-es code, bundled by the lab).
const grpcWeb = await import('/lab/grpc-web.js');
const { $ } = ui;
const SUBPROTOCOL = 'genai-chat.v1';
const LANES = [
  { id: 'rest', title: 'REST', run: runRest },
  { id: 'streamable-http', title: 'Streamable HTTP · NDJSON', run: runNdjson },
  { id: 'sse', title: 'Server-Sent Events', run: runSse },
  { id: 'websocket', title: 'WebSocket', run: runWebSocket },
  { id: 'grpc', title: 'gRPC-Web', run: runGrpcWeb },
];
/** Shown in the gRPC lane: what it measures is gRPC-Web, the browser's way to a gRPC service. */
const GRPC_WEB_NOTE =
  'This is gRPC-Web, not gRPC: a browser cannot speak gRPC (no HTTP/2 trailers in fetch), so the trailers ride in the body.';
const lab = { results: undefined, lanes: {} };
window.lab = lab;

// ---- one lane on screen -------------------------------------------------------------------
class LaneView {
  constructor(id, title) {
    this.id = id;
    this.el = $('lane').content.firstElementChild.cloneNode(true);
    this.el.dataset.lane = id;
    this.el.querySelector('h2').textContent = title;
    this.metrics = new ui.Metrics(this.el.querySelector('.ui-metrics'));
    this.replyEl = this.el.querySelector('.lab-reply');
    this.timeline = this.el.querySelector('.lab-timeline');
    this.eventsEl = this.el.querySelector('.lab-events');
    this.drop = this.el.querySelector('.drop');
    this.drop.setAttribute('aria-label', `Drop the ${title} connection`);
    $('lanes').append(this.el);
  }
  reset() {
    this.metrics.reset();
    this.text = '';
    this.requests = 0;
    this.marks = [];
    this.events = [];
    this.outcome = undefined;
    this.replyEl.replaceChildren();
    this.timeline.replaceChildren();
    this.eventsEl.textContent = '';
    this.show('requests', '0');
    this.setState('connecting', 'setting up');
  }
  show(name, text) {
    this.el.querySelector(`[data-metric="${name}"]`).textContent = text;
  }
  setState(state, text) {
    const pill = this.el.querySelector('.ui-state');
    pill.dataset.state = state;
    pill.textContent = text;
  }
  request() {
    this.requests += 1;
    this.show('requests', String(this.requests));
  }
  bytes(n) {
    this.metrics.addBytes(n);
  }
  /** Replace the reply's text (a reset that replays from the start; the stored reply). */
  setText(text) {
    this.text = text;
    ui.renderMarkdown(this.replyEl, this.text);
  }
  token(text) {
    this.metrics.token();
    this.text += text;
    this.mark(this.marks.length === 0 ? 'first' : '');
    ui.renderMarkdown(this.replyEl, this.text);
  }
  mark(className) {
    this.marks.push({ at: performance.now() - this.t0, className });
  }
  note(text) {
    this.events.push({ atMs: Math.round(performance.now() - (this.t0 ?? performance.now())), text });
    this.eventsEl.textContent = this.events.map((e) => `${e.atMs} ms ${e.text}`).join(' · ');
  }
  finish(outcome, state = 'done') {
    this.outcome = outcome;
    this.el.dataset.state = state;
    this.setState(state === 'done' && !outcome.includes('not resumed') ? 'open' : 'closed', outcome);
    const m = this.metrics.snapshot();
    this.show('total', m.totalMs === null ? '–' : `${m.totalMs} ms`);
    if (m.tokens === 1) this.show('tps', 'one chunk');
    this.drop.disabled = true;
  }
  /** Draw the timeline: one mark per chunk, on a scale shared by all lanes. */
  draw(scaleMs) {
    this.timeline.replaceChildren(
      ...this.marks.map((m) => {
        const i = document.createElement('i');
        i.className = m.className;
        i.style.left = `${Math.min(99.5, (m.at / scaleMs) * 100)}%`;
        return i;
      }),
    );
  }
  result() {
    return {
      lane: this.id,
      outcome: this.outcome,
      requests: this.requests,
      ...this.metrics.snapshot(),
      events: this.events,
      text: this.text,
    };
  }
}

const views = Object.fromEntries(LANES.map((l) => [l.id, new LaneView(l.id, l.title)]));
lab.lanes = views;
views.grpc.el.querySelector('h2').title = GRPC_WEB_NOTE;
views.grpc.el
  .querySelector('.lab-events')
  .before(Object.assign(document.createElement('p'), { className: 'lab-why', textContent: GRPC_WEB_NOTE }));

// ---- the clients, one per protocol ----------------------------------------------------------
const json = (body) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
async function newSession(base, view) {
  view.request();
  const response = await fetch(`${base}/sessions`, { method: 'POST' });
  if (!response.ok) throw await ui.errorOf(response);
  return (await response.json()).id;
}
async function readBytes(body, view, onText) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    view.bytes(value.byteLength);
    onText(decoder.decode(value, { stream: true }));
  }
}

/** A reply's stored text, once the server has it (after a `reset` the log cannot replay). */
async function storedReply(base, id) {
  for (let i = 0; i < 50; i++) {
    const response = await fetch(`${base}/sessions/${id}/messages`);
    const { messages } = await response.json();
    if (messages.at(-1)?.role === 'model') return messages.at(-1).text;
    await sleep(200);
  }
  throw new Error('the reply never reached the history');
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** How often a lane tries to resume after one drop before it gives up. */
const MAX_RESUME_ATTEMPTS = 6;

/** REST: one POST, the whole reply in one answer. It cannot resume: a drop loses the answer. */
async function runRest(base, view, start) {
  const id = await newSession(base, view);
  await start();
  view.request();
  let body = '';
  try {
    const response = await fetch(`${base}/sessions/${id}/messages`, json({ text: lab.prompt }));
    if (!response.ok) throw await ui.errorOf(response);
    await readBytes(response.body, view, (t) => {
      body += t;
    });
  } catch (error) {
    if (error instanceof ui.ApiError) throw error;
    throw new Error(
      'the connection dropped: REST cannot resume (one request, one answer, nothing to resume from)',
    );
  }
  view.token(JSON.parse(body).text);
  if (!view.dropped) return 'done';
  // Dropped, yet answered: the browser re-sent the POST on a fresh connection (it does so for a
  // request that got no byte of answer), so the model ran the turn again. That is not a resume.
  const { messages } = await (await fetch(`${base}/sessions/${id}/messages`)).json();
  const replies = messages.filter((m) => m.role === 'model').length;
  view.note(
    `REST cannot resume: the browser re-sent the POST and the model ran again (${replies} replies stored)`,
  );
  return 'done, not resumed';
}

/**
 * NDJSON: one POST, one event per line as it arrives, each line with its `seq`. A dropped stream
 * resumes with GET /sessions/:id/replies/:messageId?after=<last seq>.
 */
async function runNdjson(base, view, start) {
  const id = await newSession(base, view);
  await start();
  view.request();
  let response = await fetch(`${base}/sessions/${id}/messages`, json({ text: lab.prompt }));
  if (!response.ok) throw await ui.errorOf(response);
  let messageId;
  let after = 0;
  let outcome = 'lost';
  let fromHistory = false;
  let resumed = false;
  for (let attempt = 0; ; attempt++) {
    if (response) {
      let buffer = '';
      try {
        await readBytes(response.body, view, (t) => {
          buffer += t;
          let newline = buffer.indexOf('\n');
          while (newline !== -1) {
            const event = JSON.parse(buffer.slice(0, newline));
            buffer = buffer.slice(newline + 1);
            after = event.seq ?? after;
            if (event.type === 'start') messageId = event.messageId;
            else if (event.type === 'reset') {
              if (event.replaying) view.setText('');
              else fromHistory = true;
            } else if (event.type === 'delta' && !fromHistory) view.token(event.text);
            else if (event.type === 'done') outcome = 'done';
            else if (event.type === 'error') outcome = `error: ${event.error.code}`;
            newline = buffer.indexOf('\n');
          }
        });
        if (outcome === 'lost' && fromHistory) outcome = 'done';
      } catch {}
    }
    if (outcome !== 'lost' || messageId === undefined || attempt >= MAX_RESUME_ATTEMPTS) break;
    if (attempt === 0) view.note(`stream lost after seq ${after}; resuming`);
    await sleep(100 * 2 ** attempt);
    view.request();
    response = await fetch(`${base}/sessions/${id}/replies/${messageId}?after=${after}`).catch(
      () => undefined,
    );
    if (response && !response.ok) response = undefined;
    resumed = true;
  }
  if (fromHistory) view.setText(await storedReply(base, id));
  if (outcome !== 'done') throw new Error(outcome === 'lost' ? 'stream lost; could not resume' : outcome);
  if (resumed) view.note(`resumed with GET …/replies/…?after=`);
  return resumed ? 'done, resumed' : 'done';
}

/** SSE: the stream is open before the start; the POST starts the reply; EventSource resumes itself. */
function runSse(base, view, start) {
  return new Promise((resolve, reject) => {
    let source;
    let shownSeq = 0; // the seq of the last delta shown: a replay repeats seqs
    let fromHistory = false;
    let id;
    void (async () => {
      id = await newSession(base, view);
      source = new EventSource(`${base}/sessions/${id}/events`);
      view.request();
      let opened = false;
      source.addEventListener('open', () => {
        if (opened) {
          view.request();
          view.note('EventSource reconnected with Last-Event-ID: resumed');
          view.resumed = true;
        }
        opened = true;
        view.opened?.();
      });
      // A ChatEvent error is `event: chat-error`; `error` is EventSource's own (the connection's).
      for (const type of ['start', 'delta', 'done', 'chat-error', 'reset', 'error']) {
        source.addEventListener(type, (ev) => {
          if (!(ev instanceof MessageEvent)) {
            if (source.readyState === EventSource.CLOSED) {
              reject(new Error('the stream was refused'));
              view.opened?.();
            } else if (opened) view.note('stream lost; EventSource reconnects');
            return;
          }
          view.bytes(
            new TextEncoder().encode(`id: ${ev.lastEventId}\nevent: ${type}\ndata: ${ev.data}\n\n`)
              .byteLength,
          );
          const event = JSON.parse(ev.data);
          if (type === 'reset') {
            // Last-Event-ID is older than the log: the reply follows from its start, or is in the history.
            if (event.replaying) {
              shownSeq = 0;
              view.setText('');
            } else fromHistory = true;
          } else if (type === 'delta' && Number(ev.lastEventId) > shownSeq && !fromHistory) {
            shownSeq = Number(ev.lastEventId);
            view.token(event); // a delta's data is its text, a JSON string
          } else if (type === 'done') {
            source.close();
            const outcome = view.resumed ? 'done, resumed' : 'done';
            if (fromHistory)
              void storedReply(base, id).then((text) => {
                view.setText(text);
                resolve(outcome);
              }, reject);
            else resolve(outcome);
          } else if (type === 'chat-error') {
            source.close();
            reject(new Error(event.error.code));
          }
        });
      }
      await new Promise((ok) => {
        view.opened = ok;
      });
      view.opened = undefined;
      await start();
      view.request();
      const response = await fetch(`${base}/sessions/${id}/messages`, json({ text: lab.prompt }));
      if (!response.ok) throw await ui.errorOf(response);
    })().catch((error) => {
      source?.close();
      reject(error);
    });
  });
}

/**
 * WebSocket: one socket, joined before the start; a send frame starts the reply. Every reply
 * frame carries `seq`: a dropped socket reconnects and joins with `after` = the last one.
 */
function runWebSocket(base, view, start) {
  return new Promise((resolve, reject) => {
    let finished = false;
    let sessionId;
    let lastSeq;
    let shownSeq = 0; // the seq of the last delta shown: a replay repeats seqs
    let sent = false;
    let resumed = false;
    let fromHistory = false;
    let attempt = 0;
    const end = (error, outcome) => {
      finished = true;
      if (error) reject(error);
      else resolve(outcome);
    };
    const connect = () => {
      const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`, [SUBPROTOCOL]);
      view.request();
      socket.addEventListener('open', () =>
        socket.send(
          JSON.stringify(sessionId ? { type: 'join', sessionId, after: lastSeq ?? 0 } : { type: 'join' }),
        ),
      );
      socket.addEventListener('message', async (ev) => {
        const frame = JSON.parse(ev.data);
        if (typeof frame.seq === 'number') lastSeq = frame.seq;
        if (frame.type === 'joined') {
          sessionId = frame.session.id;
          if (sent) return; // a rejoin: what was missed follows
          sent = true;
          await start();
          socket.send(JSON.stringify({ type: 'send', text: lab.prompt }));
          return;
        }
        view.bytes(new TextEncoder().encode(ev.data).byteLength);
        if (frame.type === 'reset') {
          if (frame.replaying) {
            shownSeq = 0;
            view.setText('');
          } else fromHistory = true;
        } else if (frame.type === 'delta' && frame.seq > shownSeq && !fromHistory) {
          shownSeq = frame.seq;
          view.token(frame.text);
        } else if (frame.type === 'done') {
          finished = true;
          socket.close();
          if (fromHistory) view.setText(await storedReply(base, sessionId));
          end(undefined, resumed ? 'done, resumed' : 'done');
        } else if (frame.type === 'error') {
          socket.close();
          end(new Error(frame.error.code));
        }
      });
      socket.addEventListener('close', (ev) => {
        if (finished) return;
        if (!sent || attempt >= MAX_RESUME_ATTEMPTS)
          return end(new Error(`socket closed (${ev.code}) mid-reply; not resumed`));
        if (attempt === 0) view.note(`socket lost after seq ${lastSeq}; rejoining with after`);
        resumed = true;
        setTimeout(connect, 100 * 2 ** attempt);
        attempt += 1;
      });
    };
    connect();
  });
}

/**
 * gRPC-Web: one server-streaming call, StreamMessage, each message with its `seq`. A dropped call
 * resumes with ResumeStream(messageId, after = the last seq).
 */
async function runGrpcWeb(base, view, start) {
  const { Code, ConnectError, createClient, createGrpcWebTransport, ChatService, FinishReason } = grpcWeb;
  // The bytes of every answer, counted as they arrive (frame prefixes and trailers included).
  const countingFetch = async (input, init) => {
    view.request();
    const response = await fetch(input, init);
    if (!response.body) return response;
    const counted = response.body.pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          view.bytes(chunk.byteLength);
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: response.status, headers: response.headers });
  };
  const client = createClient(ChatService, createGrpcWebTransport({ baseUrl: base, fetch: countingFetch }));
  const { session } = await client.createSession({});
  await start();
  let messageId;
  let after = 0n;
  let shownSeq = 0n; // the seq of the last delta shown: a replay repeats seqs
  let outcome = 'lost';
  let fromHistory = false;
  let resumed = false;
  const read = async (stream) => {
    for await (const { event, seq } of stream) {
      after = seq;
      if (event.case === 'start') messageId = event.value.messageId;
      else if (event.case === 'reset') {
        if (event.value.replaying) {
          shownSeq = 0n;
          view.setText('');
        } else fromHistory = true;
      } else if (event.case === 'delta' && seq > shownSeq && !fromHistory) {
        shownSeq = seq;
        view.token(event.value.text);
      } else if (event.case === 'done')
        outcome = event.value.finishReason === FinishReason.STOP ? 'done' : 'done, not finished';
      else if (event.case === 'error') outcome = `error: ${event.value.error?.code}`;
    }
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await read(
        attempt === 0
          ? client.streamMessage({ sessionId: session.id, text: lab.prompt })
          : client.resumeStream({ sessionId: session.id, messageId, after }),
      );
    } catch (error) {
      const failure = ConnectError.from(error);
      if (outcome === 'lost' && messageId === undefined)
        throw new Error(`${Code[failure.code]}: ${failure.rawMessage}`);
    }
    if (outcome !== 'lost' || messageId === undefined || attempt >= MAX_RESUME_ATTEMPTS) break;
    if (attempt === 0) view.note(`call lost after seq ${after}; ResumeStream`);
    resumed = true;
    await sleep(100 * 2 ** attempt);
  }
  if (fromHistory) {
    const { messages } = await client.getHistory({ sessionId: session.id });
    view.setText(messages.at(-1)?.text ?? '');
  }
  if (outcome !== 'done') throw new Error(outcome === 'lost' ? 'call lost; could not resume' : outcome);
  if (resumed) view.note('resumed with ResumeStream(after)');
  return resumed ? 'done, resumed' : 'done';
}

// ---- the race ---------------------------------------------------------------------------------
async function loadTargets(network) {
  const response = await fetch(`/lab/targets?network=${encodeURIComponent(network)}`);
  return response.json();
}

async function race() {
  $('go').disabled = true;
  $('copy').disabled = true;
  ui.setState('busy', 'racing');
  lab.prompt = $('prompt').value.trim() || 'Hello';
  const network = $('network').value;
  const targets = await loadTargets(network);
  let go;
  const start = new Promise((resolve) => {
    go = resolve;
  });
  const startedAt = new Date().toISOString();
  const runs = LANES.map(({ id, run }) => {
    const view = views[id];
    view.reset();
    view.resumed = false;
    view.dropped = false;
    view.drop.disabled = false;
    return { view, done: undefined, run, base: targets.lanes[id] };
  });
  // Every lane sets up (session, stream, socket) and calls start(); when the last one has (or has
  // failed), all go at one instant.
  let pending = runs.length;
  const arrive = () => {
    pending -= 1;
    if (pending === 0) go();
  };
  for (const r of runs) {
    let arrived = false;
    const gate = () => {
      if (!arrived) {
        arrived = true;
        arrive();
      }
      return start.then(() => {
        r.view.t0 = performance.now();
        r.view.metrics.start();
        r.view.setState('busy', 'streaming');
      });
    };
    r.done = r.run(r.base, r.view, gate).then(
      (outcome) => r.view.finish(outcome),
      (error) => {
        if (!arrived) gate();
        r.view.finish(`failed: ${error.message}`, 'failed');
      },
    );
  }
  await Promise.all(runs.map((r) => r.done));
  const scale = Math.max(1, ...runs.flatMap((r) => r.view.marks.map((m) => m.at)));
  for (const r of runs) r.view.draw(scale * 1.05);
  const proxy = await (await fetch(`/lab/stats?network=${encodeURIComponent(network)}`)).json();
  lab.results = {
    startedAt,
    network,
    prompt: lab.prompt,
    model: targets.model,
    lanes: runs.map((r) => ({ ...r.view.result(), proxy: proxy[r.view.id] })),
    grpcLane: GRPC_WEB_NOTE,
  };
  $('results').textContent = JSON.stringify(lab.results, null, 2);
  $('go').disabled = false;
  $('copy').disabled = false;
  ui.setState('open', 'finished');
  ui.announce(`race finished: ${runs.map((r) => `${r.view.id} ${r.view.outcome}`).join(', ')}`);
}

for (const view of Object.values(views)) {
  view.drop.addEventListener('click', async () => {
    view.mark('cut');
    view.dropped = true;
    const response = await fetch(`/lab/drop/${view.id}?network=${encodeURIComponent($('network').value)}`, {
      method: 'POST',
    });
    const { cut } = await response.json();
    view.note(`dropped ${cut} connection${cut === 1 ? '' : 's'}`);
  });
}
$('form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void race().catch((error) => {
    ui.showBanner(`The race could not run: ${error.message}`, {
      kind: 'bad',
      actions: [
        {
          label: 'Try again',
          run: () => {
            ui.hideBanner();
            void race();
          },
        },
      ],
    });
    $('go').disabled = false;
  });
});
$('copy').addEventListener('click', async () => {
  await navigator.clipboard.writeText(JSON.stringify(lab.results, null, 2));
  ui.announce('results copied');
  $('copy').textContent = 'Copied';
  setTimeout(() => ($('copy').textContent = 'Copy results as JSON'), 1500);
});

const targets = await loadTargets('loopback');
for (const p of targets.profiles) {
  const option = document.createElement('option');
  option.value = p.name;
  option.textContent = p.rttMs ? `${p.name} (${p.rttMs} ms RTT)` : p.name;
  $('network').append(option);
}
const describe = () => {
  const p = targets.profiles.find((x) => x.name === $('network').value);
  $('network-note').textContent = p ? `${p.name}: ${p.source}` : '';
};
$('network').addEventListener('change', describe);
describe();
