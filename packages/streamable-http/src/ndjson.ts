/**
 * The NDJSON wire format: its media type, one ChatEvent per line, and the resume offset.
 *
 *     {"seq":12,"type":"start","messageId":"…"}
 *     {"seq":13,"type":"delta","text":"Hel"}          a delta: its text, ordered by seq; its reply is the start's
 *     {"seq":14,"type":"done","messageId":"…","finishReason":"stop"}
 */
import type { ChatEvent, LoggedEvent } from '@gtp/core';

/** The media type of the streamed answer: newline-delimited JSON, one ChatEvent per line. */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson; charset=utf-8';

/** One ChatEvent as one NDJSON line. JSON.stringify never emits a raw newline, so a line is an event. */
export function toLine(event: ChatEvent): string {
  return `${JSON.stringify(event)}\n`;
}

/** A logged event as one line with its `seq` first: `{"seq":12,"type":"delta",…}`, not re-encoded. */
export function loggedLine({ seq, data }: LoggedEvent): string {
  return `{"seq":${seq},${data.slice(1)}\n`;
}

/** `?after=` or `Last-Event-ID` as a seq; anything malformed counts as none (read from the start). */
export function parseAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}
