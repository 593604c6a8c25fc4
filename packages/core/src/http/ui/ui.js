// genai-transports: the page design every demo and the lab share (served at /ui/ui.js, no build
// step). It holds what is the same on every page — the demo page itself, bubbles, readouts, the
// wire panel, banners, markdown — so that each demo.html holds only its transport's parts of the
// page and its demo.js only its transport's code.
//
// Text from the network only ever reaches the page as text nodes (textContent), or, for a model
// reply, as markdown rendered by marked with raw HTML escaped and then sanitised by DOMPurify into
// a DOM fragment: never innerHTML of unsanitised text.

// AUTH_TOKEN: a page is opened as /demo?access_token=<token>; this module reads it (from its own
// import URL, the page's, or, after a reload, this tab's sessionStorage) for the pages' calls.
// The design's files need no token (the server's OPEN_UI_PATHS), only the API does.
export const ACCESS_TOKEN_STORAGE_KEY = 'gtp.access_token';
const query = new URL(import.meta.url).search;
export const accessToken =
  new URLSearchParams(query).get('access_token') ??
  new URLSearchParams(location.search).get('access_token') ??
  sessionStorage.getItem(ACCESS_TOKEN_STORAGE_KEY) ??
  undefined;
export const authHeaders = accessToken ? { authorization: `Bearer ${accessToken}` } : {};
/** A same-origin path with ?access_token= added, for what cannot send a header (EventSource). */
export const withToken = (path) =>
  accessToken
    ? `${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(accessToken)}`
    : path;

// The token stays in this tab (sessionStorage, which a reload keeps and a shared link does not)
// and leaves the address bar, so it is not in the history, a bookmark or a copied link.
if (accessToken) {
  sessionStorage.setItem(ACCESS_TOKEN_STORAGE_KEY, accessToken);
  const params = new URLSearchParams(location.search);
  if (params.has('access_token')) {
    params.delete('access_token');
    history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`);
  }
}

const [{ Marked }, { default: DOMPurify }] = await Promise.all([
  import(`./vendor/marked.js${query}`),
  import(`./vendor/purify.js${query}`),
]);

export const $ = (id) => document.getElementById(id);

// ---- Markdown -------------------------------------------------------------------------------
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
// HTML disabled: a raw HTML block or tag in the reply is shown as the text it is.
const markdown = new Marked({ gfm: true, breaks: true, renderer: { html: ({ text }) => escapeHtml(text) } });

/** Render `text` as markdown into `el`: HTML escaped, the result sanitised, inserted as DOM nodes. */
export function renderMarkdown(el, text) {
  const html = markdown.parse(text, { async: false });
  el.replaceChildren(DOMPurify.sanitize(html, { RETURN_DOM_FRAGMENT: true }));
}

// ---- The header's connection state, the banner, the screen-reader announcer -----------------
/** state: open | connecting | busy | closed | offline | gone. */
export function setState(state, text = state) {
  const el = $('state');
  el.dataset.state = state;
  el.textContent = text;
}

/**
 * Say what happened and offer the way forward: `actions` are buttons ({label, run}). The first
 * button takes the focus, so a keyboard user lands on it.
 */
export function showBanner(text, { kind = 'warn', actions = [] } = {}) {
  const el = $('banner');
  const p = document.createElement('p');
  p.textContent = text;
  const buttons = actions.map(({ label, run, primary }) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    if (primary) b.className = 'primary';
    b.addEventListener('click', () => run());
    return b;
  });
  el.replaceChildren(p, ...buttons);
  el.dataset.kind = kind;
  el.hidden = false;
  buttons[0]?.focus();
}
export function hideBanner() {
  const el = $('banner');
  el.hidden = true;
  el.replaceChildren();
}

/** Read a finished reply (or a notice) to screen readers once, not token by token. */
export function announce(text) {
  const el = $('announce');
  el.textContent = '';
  setTimeout(() => {
    el.textContent = text;
  }, 50);
}

// ---- The transcript ---------------------------------------------------------------------------
export class Transcript {
  constructor(el) {
    this.el = el;
  }
  #add(node) {
    this.el.querySelector('.ui-empty')?.remove();
    const atBottom = this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 80;
    this.el.append(node);
    if (atBottom) this.el.scrollTop = this.el.scrollHeight;
    return node;
  }
  #bubble(className, who) {
    const el = document.createElement('div');
    el.className = `ui-bubble ${className}`;
    const label = document.createElement('span');
    label.className = 'ui-who';
    label.textContent = who;
    const body = document.createElement('div');
    body.className = 'ui-body';
    el.append(label, body);
    return { el, body };
  }
  /** A user message: plain text (pre-wrap), never markdown. */
  user(text, who = 'you') {
    const { el, body } = this.#bubble(who === 'you' ? 'user' : 'other', who);
    body.textContent = text;
    return this.#add(el);
  }
  /** A model reply; `append` streams text into it, rendered as markdown on the next frame. */
  model(text = '', { streaming = false } = {}) {
    const { el, body } = this.#bubble('model', 'model');
    this.#add(el);
    const reply = new ModelReply(el, body, this);
    if (text) reply.set(text);
    if (streaming) el.classList.add('streaming');
    return reply;
  }
  note(text) {
    const p = document.createElement('p');
    p.className = 'ui-note';
    p.textContent = text;
    return this.#add(p);
  }
  divider(text) {
    const p = document.createElement('p');
    p.className = 'ui-divider';
    p.textContent = text;
    return this.#add(p);
  }
  /** Mark a bubble with a small tag ("not sent", "stopped", "connection lost"). */
  tag(el, text, className) {
    if (className) el.classList.add(className);
    el.querySelector('.ui-tag')?.remove();
    const tag = document.createElement('span');
    tag.className = 'ui-tag';
    tag.textContent = text;
    el.append(tag);
  }
  /** The old conversation stays readable, dimmed, when its session is gone. */
  markStale() {
    for (const el of this.el.querySelectorAll('.ui-bubble')) el.classList.add('stale');
  }
  clear(emptyText = 'No messages yet. Say something below.') {
    const p = document.createElement('p');
    p.className = 'ui-empty';
    p.textContent = emptyText;
    this.el.replaceChildren(p);
  }
  scroll() {
    if (this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 120)
      this.el.scrollTop = this.el.scrollHeight;
  }
  /** Show a stored history ({role, text, interrupted?}[]). */
  history(messages) {
    for (const m of messages) {
      if (m.role === 'user') this.user(m.text);
      else {
        const reply = this.model(m.text);
        reply.el.dataset.finish = m.interrupted ? 'cancelled' : 'stop';
        if (m.interrupted) this.tag(reply.el, 'interrupted');
      }
    }
  }
}

export class ModelReply {
  #frame = 0;
  constructor(el, body, transcript) {
    this.el = el;
    this.body = body;
    this.text = '';
    this.transcript = transcript;
  }
  append(text) {
    this.text += text;
    this.#schedule();
  }
  set(text) {
    this.text = text;
    this.#schedule();
  }
  #schedule() {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => this.render());
  }
  /** Render now (the end of a reply, a test). */
  render() {
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    renderMarkdown(this.body, this.text);
    this.transcript.scroll();
  }
  /** The connection dropped and the page is resuming the reply: say so; it keeps streaming. */
  resuming(text = 'connection lost: resuming…') {
    this.el.classList.add('streaming');
    this.el.classList.remove('failed');
    this.transcript.tag(this.el, text, 'resuming');
  }
  #resumed() {
    if (!this.el.classList.contains('resuming')) return;
    this.el.classList.remove('resuming');
    this.el.querySelector('.ui-tag')?.remove();
  }
  /** The reply ended: finishReason "stop" shows nothing more; anything else is tagged. */
  finish(finishReason = 'stop') {
    this.#resumed();
    this.el.classList.remove('streaming');
    this.el.dataset.finish = finishReason;
    this.render();
    if (finishReason !== 'stop')
      this.transcript.tag(this.el, finishReason === 'cancelled' ? 'stopped' : finishReason);
    announce(`model: ${this.text}`);
  }
  fail(text) {
    this.#resumed();
    this.el.classList.remove('streaming');
    this.render();
    this.transcript.tag(this.el, text, 'failed');
    announce(text);
  }
}

// ---- Readouts ---------------------------------------------------------------------------------
const formatBytes = (n) => (n < 10_000 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);

/**
 * First-token time, tokens/s and bytes, measured in the page from the moment of the send. Each
 * readout is an element inside `root` with data-metric="ttft|tps|tokens|bytes".
 */
export class Metrics {
  constructor(root) {
    this.root = root;
    this.reset();
  }
  #show(name, text) {
    const el = this.root.querySelector(`[data-metric="${name}"]`);
    if (el) el.textContent = text;
  }
  reset() {
    this.sentAt = undefined;
    this.firstAt = undefined;
    this.lastAt = undefined;
    this.tokens = 0;
    this.bytes = 0;
    for (const name of ['ttft', 'tps', 'tokens', 'bytes']) this.#show(name, '–');
  }
  start() {
    this.reset();
    this.sentAt = performance.now();
    this.#show('ttft', '…');
    this.#show('bytes', '0 B');
  }
  /** Bytes received (or sent) on the wire for this reply. */
  addBytes(n) {
    this.bytes += n;
    this.#show('bytes', formatBytes(this.bytes));
  }
  token() {
    const now = performance.now();
    this.sentAt ??= now;
    this.firstAt ??= now;
    this.lastAt = now;
    this.tokens += 1;
    this.#show('ttft', `${Math.round(this.firstAt - this.sentAt)} ms`);
    this.#show('tokens', String(this.tokens));
    const seconds = (now - this.firstAt) / 1000;
    if (seconds > 0 && this.tokens > 1) this.#show('tps', ((this.tokens - 1) / seconds).toFixed(1));
  }
  /** The server's own numbers from `done`, when it has them. */
  done(done) {
    if (done?.usage?.outputTokens) this.#show('tokens', String(done.usage.outputTokens));
    if (this.tokens <= 1) this.#show('tps', this.tokens ? 'one chunk' : '–');
  }
  snapshot() {
    const seconds =
      this.firstAt !== undefined && this.lastAt > this.firstAt ? (this.lastAt - this.firstAt) / 1000 : 0;
    return {
      ttftMs: this.firstAt === undefined ? null : Math.round(this.firstAt - this.sentAt),
      totalMs: this.lastAt === undefined ? null : Math.round(this.lastAt - this.sentAt),
      tokens: this.tokens,
      tokensPerSecond: seconds > 0 ? Number(((this.tokens - 1) / seconds).toFixed(1)) : null,
      bytes: this.bytes,
    };
  }
}

// ---- The wire panel ---------------------------------------------------------------------------
const WIRE_LINES = 400;
export class Wire {
  constructor(list) {
    this.list = list;
    this.t0 = performance.now();
  }
  #line(kind, arrow, text) {
    const li = document.createElement('li');
    li.className = `${kind} ui-mono`;
    const time = document.createElement('time');
    time.textContent = `${((performance.now() - this.t0) / 1000).toFixed(3)}s`;
    const dir = document.createElement('span');
    dir.className = 'dir';
    dir.textContent = arrow;
    dir.setAttribute('aria-label', kind === 'up' ? 'sent' : kind === 'down' ? 'received' : 'note');
    li.append(time, dir, document.createTextNode(text));
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(li);
    while (this.list.childElementCount > WIRE_LINES) this.list.firstElementChild.remove();
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }
  /** What the page sent. */
  up(text) {
    this.#line('up', '→', text);
  }
  /** What arrived, exactly as it arrived (a line, a field block, a frame). */
  down(text) {
    this.#line('down', '←', text);
  }
  info(text) {
    this.#line('info', '·', text);
  }
}

// ---- HTTP helpers -----------------------------------------------------------------------------
/** A refused request (its {error:{code,message}}) or a network failure (code "network"). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  get network() {
    return this.code === 'network';
  }
}

/** The error of a non-2xx answer, in the contract's shape. */
export async function errorOf(response) {
  const body = await response.json().catch(() => undefined);
  const error = body?.error ?? { code: `http_${response.status}`, message: response.statusText };
  return new ApiError(response.status, error.code, error.message);
}

/** A JSON call to the shared routes (sessions, history, health). */
export async function api(method, path, body, { signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      signal,
      headers: { ...authHeaders, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  if (!response.ok) throw await errorOf(response);
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

let reachable;
/**
 * The server did not answer: say so, with a "Check now" button, poll GET /health every second,
 * and resolve once it answers again (the banner goes). Concurrent callers share one wait.
 */
export function untilReachable(
  text = 'The server cannot be reached (stopped, restarting, or the network is down). Checking again every second…',
) {
  reachable ??= (async () => {
    setState('offline', 'server unreachable');
    let wake = () => {};
    showBanner(text, { kind: 'bad', actions: [{ label: 'Check now', run: () => wake() }] });
    for (;;) {
      try {
        await api('GET', '/health');
        break;
      } catch {}
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, 1000);
      });
    }
    hideBanner();
    reachable = undefined;
  })();
  return reachable;
}

// ---- The session in the URL -------------------------------------------------------------------
export const sessionFromUrl = () => new URLSearchParams(location.search).get('session') ?? undefined;
/** Put the session id in the address bar, so a reload or a link reopens it. */
export function setSessionInUrl(id) {
  const params = new URLSearchParams(location.search);
  if (id) params.set('session', id);
  else params.delete('session');
  history.replaceState(null, '', `${location.pathname}?${params}`);
}
export const shortId = (id) => (id ? `${id.slice(0, 8)}…` : '–');

// ---- The composer -----------------------------------------------------------------------------
/**
 * The form: Enter sends, Shift+Enter is a new line. `onSend(text)` runs for a non-empty message;
 * `restore(text)` puts a message that was not sent back in the input.
 */
export function composer({ form, input, send, stop, onSend }) {
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim() || send.disabled) return;
    input.value = '';
    onSend(text);
  });
  return {
    /** ready: a session to send to; busy: a reply running. */
    set({ ready, busy }) {
      send.disabled = !ready || busy;
      input.disabled = !ready;
      stop.disabled = !busy;
    },
    restore(text) {
      input.value = text;
      input.focus();
    },
  };
}

// ---- A demo page ------------------------------------------------------------------------------
export const SESSION_GONE_TEXT =
  'This session no longer exists on the server: it restarted (sessions live in its memory) or the session expired. The conversation above stays here to read.';
export const STALE_LINK_TEXT =
  'The session in this link does not exist (any more): the server restarted or the session expired.';

/** The page every demo shares: demo.html's `<template id="demo">` adds its transport's parts. */
const DEMO_PAGE = `
<header class="ui-header">
  <span id="state" class="ui-state" data-state="connecting" role="status">connecting</span>
  <span class="ui-session">session <code id="session">–</code></span>
  <nav aria-label="This server"><a href="/">home</a><a href="/docs">API docs</a></nav>
</header>
<div id="banner" class="ui-banner" role="alert" hidden></div>
<main class="ui-main">
  <section class="ui-chat" aria-label="Chat">
    <section id="metrics" class="ui-metrics" aria-label="Measured in this page for the last reply">
      <span>first token <b data-metric="ttft">–</b></span>
      <span>tokens/s <b data-metric="tps">–</b></span>
      <span>tokens <b data-metric="tokens">–</b></span>
      <span>bytes <b data-metric="bytes">–</b></span>
    </section>
    <div id="transcript" class="ui-transcript" role="log" aria-label="Conversation"></div>
    <form id="form" class="ui-composer">
      <label for="input">Message — Enter sends, Shift+Enter starts a new line</label>
      <textarea id="input" rows="1" maxlength="16000" disabled></textarea>
      <div class="ui-actions">
        <button id="send" class="primary" type="submit" disabled>Send</button>
        <button id="stop" type="button" disabled>Stop</button>
        <button id="new" type="button">New session</button>
      </div>
    </form>
  </section>
  <aside class="ui-wire" aria-labelledby="wire-title"><ol id="wire" class="ui-wire-log"></ol></aside>
</main>
<div id="announce" class="ui-sr" aria-live="polite"></div>`;

/**
 * Where a part of demo.html's template goes, by its data-slot: `title` (the h1) heads the header,
 * `session` follows the session id, `nav` replaces the links home and to the API docs, `readouts`
 * follow the four every page measures, `chat` stands between the transcript and the form,
 * `actions` before New session, and `wire` (the h2) heads the wire panel and names it.
 */
const SLOTS = {
  title: (page, el) => page.querySelector('.ui-header').prepend(el),
  session: (page, el) => page.querySelector('.ui-session').append(' · ', el),
  nav: (page, el) => page.querySelector('.ui-header nav').replaceWith(el),
  readouts: (page, el) => page.querySelector('#metrics').append(el),
  chat: (page, el) => page.querySelector('#form').before(el),
  actions: (page, el) => page.querySelector('#new').before(el),
  wire: (page, el) => {
    el.id = 'wire-title';
    page.querySelector('.ui-wire').prepend(el);
  },
};

/** The shared page (DEMO_PAGE, static markup) with the template's parts in their slots, in its place. */
function buildDemoPage(template) {
  const page = document.createElement('template');
  page.innerHTML = DEMO_PAGE;
  for (const el of [...template.content.children]) {
    const slot = SLOTS[el.dataset.slot];
    if (!slot) throw new Error(`demo.html: a part with no slot (data-slot="${el.dataset.slot ?? ''}")`);
    el.removeAttribute('data-slot');
    slot(page.content, el);
  }
  template.replaceWith(page.content);
}

/**
 * What every demo page sets up the same way: the page itself (DEMO_PAGE around the parts of
 * demo.html's `<template id="demo">`), the transcript, the readouts, the wire panel, the form
 * (`onSend(text)` sends a message), the session in the header and the address bar, and the banners
 * of a session that is gone and of a call that failed. What the page does on the wire stays in its
 * demo.js.
 */
export function demoPage({ onSend }) {
  buildDemoPage($('demo'));
  const transcript = new Transcript($('transcript'));
  transcript.clear();
  return {
    transcript,
    metrics: new Metrics($('metrics')),
    wire: new Wire($('wire')),
    form: composer({ form: $('form'), input: $('input'), send: $('send'), stop: $('stop'), onSend }),
    /** The session this page uses: in the header, and in the address bar (a reload reopens it). */
    showSession(id) {
      setSessionInUrl(id);
      $('session').textContent = shortId(id);
      $('session').title = id;
    },
    /** A new session: under a divider (`keep`: the old transcript stays) or on a clean page. */
    sessionStarted({ keep = false } = {}) {
      if (keep) transcript.divider('new session');
      else transcript.clear();
      this.metrics.reset();
      $('input').focus();
    },

    /**
     * The session is gone (or a link's never was, `stale`): say so, keep the old transcript
     * readable (dimmed), and offer `newSession()`, the way forward.
     */
    sessionGone(newSession, { stale = false, message = stale ? STALE_LINK_TEXT : SESSION_GONE_TEXT } = {}) {
      setState('gone', 'session gone');
      transcript.markStale();
      showBanner(message, {
        kind: 'bad',
        actions: [{ label: 'Start a new session', primary: true, run: newSession }],
      });
      if (stale) transcript.clear('Nothing to show for this link.');
    },
    /** A call the page cannot go on without failed: say why, with the button that tries again. */
    failed(text, retry, label = 'Try again') {
      showBanner(text, { kind: 'bad', actions: [{ label, run: retry }] });
    },
  };
}
