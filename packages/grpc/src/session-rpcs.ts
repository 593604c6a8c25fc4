/**
 * The session RPCs and GetServerStats: unary calls that map the core's answers to protobuf.
 * Every one runs as the caller's principal: another principal's session is NOT_FOUND.
 */
import type { ChatService } from '@gtp/core';
import type { ChatServiceHandlers } from '../generated/genai/chat/v1/ChatService.ts';
import { messageToProto, sessionToProto, statsToProto } from './messages.ts';
import { requireSessionId, type Unary } from './unary.ts';

type SessionRpcs = Pick<
  ChatServiceHandlers,
  | 'CreateSession'
  | 'GetSession'
  | 'ListSessions'
  | 'ShareSession'
  | 'DeleteSession'
  | 'GetHistory'
  | 'ClearHistory'
  | 'GetServerStats'
>;

export function sessionRpcs(chat: ChatService, unary: Unary): SessionRpcs {
  return {
    CreateSession: unary(async (_request, _signal, caller) => ({
      session: sessionToProto(await chat.createSession(caller)),
    })),
    GetSession: unary(async ({ sessionId }, _signal, caller) => ({
      session: sessionToProto(await chat.getSession(requireSessionId(sessionId), caller)),
    })),
    ListSessions: unary(async ({ pageSize, pageToken }, _signal, caller) => {
      const page = await chat.listSessions({
        ...caller,
        ...(pageSize > 0 ? { limit: pageSize } : {}),
        ...(pageToken ? { cursor: pageToken } : {}),
      });
      return { sessions: page.sessions.map(sessionToProto), nextPageToken: page.nextCursor ?? '' };
    }),
    ShareSession: unary(async ({ sessionId, principal }, _signal, caller) => ({
      session: sessionToProto(await chat.shareSession(requireSessionId(sessionId), principal, caller)),
    })),
    DeleteSession: unary(({ sessionId }, _signal, caller) =>
      chat.deleteSession(requireSessionId(sessionId), caller).then(() => ({})),
    ),
    GetHistory: unary(async ({ sessionId }, _signal, caller) => ({
      messages: (await chat.history(requireSessionId(sessionId), caller)).map(messageToProto),
    })),
    ClearHistory: unary(({ sessionId }, _signal, caller) =>
      chat.clearHistory(requireSessionId(sessionId), caller).then(() => ({})),
    ),
    GetServerStats: unary(async () => statsToProto(await chat.snapshot(), chat.model.info)),
  };
}
