/**
 * The commands of one Chat (bidi) call, each handled as it arrives: `send` starts a reply whose
 * events are written to the stream as the model makes them (several may run at once), `cancel`
 * stops a session's reply wherever it runs, `typing` reaches the session's other streams, `ping`
 * is answered with `pong`. A command that fails is answered with an `error` event on the stream,
 * which stays open; only a client that ignores a whole budget of refusals (src/command-budget.ts)
 * has its stream ended, RESOURCE_EXHAUSTED.
 */
import { ChatError, type ChatService, type Config } from '@gtp/core';
import type { ChatRequest__Output } from '../generated/genai/chat/v1/ChatRequest.ts';
import type { ChatStream, ChatStreams } from './chat-stream.ts';
import { CommandBudget } from './command-budget.ts';
import type { CallFailures } from './failures.ts';
import { accessOf } from './interceptors.ts';
import { chatEventToProto } from './messages.ts';
import { toServiceError } from './status.ts';
import { requireSessionId } from './unary.ts';

export interface ChatCommandsOptions {
  chat: ChatService;
  config: Pick<Config, 'rateLimitMax' | 'rateLimitWindowMs'>;
  /** This call's stream, and every open one (for `typing`). */
  stream: ChatStream;
  streams: ChatStreams;
  /** The call's (src/cancel.ts): its replies stop when it closes. */
  signal: AbortSignal;
  /** Keeps a reply that `send` started, so that half-close and shutdown wait for it. */
  track: (turn: Promise<void>) => void;
  fail: CallFailures['fail'];
}

/** The `data` listener of a Chat call: one ChatRequest at a time, never throwing. */
export function chatCommands(options: ChatCommandsOptions): (message: ChatRequest__Output) => void {
  const { chat, stream, streams, signal, track, fail } = options;
  const { call } = stream;
  const caller = accessOf(call);
  // RATE_LIMIT_MAX commands per RATE_LIMIT_WINDOW_MS on this stream.
  const budget = new CommandBudget(options.config);
  const refuse = (error: unknown) =>
    void stream.send({ error: { messageId: '', error: fail(call, error).toJSON() } });

  const runTurn = async (sessionId: string, text: string) => {
    stream.sessions.add(sessionId);
    try {
      // One stream carries several sessions' replies and has no seq: each delta names its reply
      // (the start's messageId) and its place in it.
      let messageId = '';
      let index = 0;
      for await (const event of chat.reply(sessionId, text, {
        signal,
        traceContext: call.metadata.getMap(),
        principal: caller.principal,
      })) {
        if (event.type === 'start') messageId = event.messageId;
        await stream.send(
          event.type === 'delta'
            ? { delta: { messageId, index: index++, text: event.text } }
            : chatEventToProto(event),
        );
      }
    } catch (error) {
      refuse(error);
    }
  };

  const dispatch = (message: ChatRequest__Output) => {
    switch (message.event) {
      case 'send': {
        const { sessionId, text } = message.send!;
        track(runTurn(requireSessionId(sessionId), text));
        return;
      }
      case 'cancel':
        // Idempotent: cancelling a session with no reply running does nothing. cancelReply
        // reaches the reply wherever it runs: here, or on another instance (REDIS_URL).
        chat.cancelReply(requireSessionId(message.cancel!.sessionId), undefined, caller).catch(refuse);
        return;
      case 'typing': {
        // Only into a session the caller may use (another principal's: NOT_FOUND).
        const { sessionId, active } = message.typing!;
        chat
          .authorize(requireSessionId(sessionId), caller)
          .then(() => streams.typing(stream, sessionId, active), refuse);
        return;
      }
      case 'ping':
        void stream.send({ pong: { ts: message.ping!.ts, serverTs: String(Date.now()) } });
        return;
      default:
        throw new ChatError('invalid_request', 'a ChatRequest must set one of send, cancel, typing, ping');
    }
  };

  return (message) => {
    if (budget.exhausted) return; // ended below; grpc-js may still deliver
    try {
      const refused = budget.take();
      if (refused?.end) {
        if (!call.cancelled) call.emit('error', toServiceError(fail(call, refused.refusal)));
        return;
      }
      if (refused) throw refused.refusal;
      dispatch(message);
    } catch (error) {
      refuse(error);
    }
  };
}
