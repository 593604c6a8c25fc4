// Original file: ../../proto/genai/chat/v1/chat.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelReplyRequest as _genai_chat_v1_CancelReplyRequest, CancelReplyRequest__Output as _genai_chat_v1_CancelReplyRequest__Output } from '../../../genai/chat/v1/CancelReplyRequest.ts';
import type { CancelReplyResponse as _genai_chat_v1_CancelReplyResponse, CancelReplyResponse__Output as _genai_chat_v1_CancelReplyResponse__Output } from '../../../genai/chat/v1/CancelReplyResponse.ts';
import type { ChatRequest as _genai_chat_v1_ChatRequest, ChatRequest__Output as _genai_chat_v1_ChatRequest__Output } from '../../../genai/chat/v1/ChatRequest.ts';
import type { ChatResponse as _genai_chat_v1_ChatResponse, ChatResponse__Output as _genai_chat_v1_ChatResponse__Output } from '../../../genai/chat/v1/ChatResponse.ts';
import type { ClearHistoryRequest as _genai_chat_v1_ClearHistoryRequest, ClearHistoryRequest__Output as _genai_chat_v1_ClearHistoryRequest__Output } from '../../../genai/chat/v1/ClearHistoryRequest.ts';
import type { ClearHistoryResponse as _genai_chat_v1_ClearHistoryResponse, ClearHistoryResponse__Output as _genai_chat_v1_ClearHistoryResponse__Output } from '../../../genai/chat/v1/ClearHistoryResponse.ts';
import type { CreateSessionRequest as _genai_chat_v1_CreateSessionRequest, CreateSessionRequest__Output as _genai_chat_v1_CreateSessionRequest__Output } from '../../../genai/chat/v1/CreateSessionRequest.ts';
import type { CreateSessionResponse as _genai_chat_v1_CreateSessionResponse, CreateSessionResponse__Output as _genai_chat_v1_CreateSessionResponse__Output } from '../../../genai/chat/v1/CreateSessionResponse.ts';
import type { DeleteSessionRequest as _genai_chat_v1_DeleteSessionRequest, DeleteSessionRequest__Output as _genai_chat_v1_DeleteSessionRequest__Output } from '../../../genai/chat/v1/DeleteSessionRequest.ts';
import type { DeleteSessionResponse as _genai_chat_v1_DeleteSessionResponse, DeleteSessionResponse__Output as _genai_chat_v1_DeleteSessionResponse__Output } from '../../../genai/chat/v1/DeleteSessionResponse.ts';
import type { GetHistoryRequest as _genai_chat_v1_GetHistoryRequest, GetHistoryRequest__Output as _genai_chat_v1_GetHistoryRequest__Output } from '../../../genai/chat/v1/GetHistoryRequest.ts';
import type { GetHistoryResponse as _genai_chat_v1_GetHistoryResponse, GetHistoryResponse__Output as _genai_chat_v1_GetHistoryResponse__Output } from '../../../genai/chat/v1/GetHistoryResponse.ts';
import type { GetServerStatsRequest as _genai_chat_v1_GetServerStatsRequest, GetServerStatsRequest__Output as _genai_chat_v1_GetServerStatsRequest__Output } from '../../../genai/chat/v1/GetServerStatsRequest.ts';
import type { GetServerStatsResponse as _genai_chat_v1_GetServerStatsResponse, GetServerStatsResponse__Output as _genai_chat_v1_GetServerStatsResponse__Output } from '../../../genai/chat/v1/GetServerStatsResponse.ts';
import type { GetSessionRequest as _genai_chat_v1_GetSessionRequest, GetSessionRequest__Output as _genai_chat_v1_GetSessionRequest__Output } from '../../../genai/chat/v1/GetSessionRequest.ts';
import type { GetSessionResponse as _genai_chat_v1_GetSessionResponse, GetSessionResponse__Output as _genai_chat_v1_GetSessionResponse__Output } from '../../../genai/chat/v1/GetSessionResponse.ts';
import type { ListSessionsRequest as _genai_chat_v1_ListSessionsRequest, ListSessionsRequest__Output as _genai_chat_v1_ListSessionsRequest__Output } from '../../../genai/chat/v1/ListSessionsRequest.ts';
import type { ListSessionsResponse as _genai_chat_v1_ListSessionsResponse, ListSessionsResponse__Output as _genai_chat_v1_ListSessionsResponse__Output } from '../../../genai/chat/v1/ListSessionsResponse.ts';
import type { ResumeStreamRequest as _genai_chat_v1_ResumeStreamRequest, ResumeStreamRequest__Output as _genai_chat_v1_ResumeStreamRequest__Output } from '../../../genai/chat/v1/ResumeStreamRequest.ts';
import type { ResumeStreamResponse as _genai_chat_v1_ResumeStreamResponse, ResumeStreamResponse__Output as _genai_chat_v1_ResumeStreamResponse__Output } from '../../../genai/chat/v1/ResumeStreamResponse.ts';
import type { SendMessageRequest as _genai_chat_v1_SendMessageRequest, SendMessageRequest__Output as _genai_chat_v1_SendMessageRequest__Output } from '../../../genai/chat/v1/SendMessageRequest.ts';
import type { SendMessageResponse as _genai_chat_v1_SendMessageResponse, SendMessageResponse__Output as _genai_chat_v1_SendMessageResponse__Output } from '../../../genai/chat/v1/SendMessageResponse.ts';
import type { ShareSessionRequest as _genai_chat_v1_ShareSessionRequest, ShareSessionRequest__Output as _genai_chat_v1_ShareSessionRequest__Output } from '../../../genai/chat/v1/ShareSessionRequest.ts';
import type { ShareSessionResponse as _genai_chat_v1_ShareSessionResponse, ShareSessionResponse__Output as _genai_chat_v1_ShareSessionResponse__Output } from '../../../genai/chat/v1/ShareSessionResponse.ts';
import type { StreamMessageRequest as _genai_chat_v1_StreamMessageRequest, StreamMessageRequest__Output as _genai_chat_v1_StreamMessageRequest__Output } from '../../../genai/chat/v1/StreamMessageRequest.ts';
import type { StreamMessageResponse as _genai_chat_v1_StreamMessageResponse, StreamMessageResponse__Output as _genai_chat_v1_StreamMessageResponse__Output } from '../../../genai/chat/v1/StreamMessageResponse.ts';

/**
 * The chat service. Every RPC that names a session answers NOT_FOUND for an unknown one.
 */
export interface ChatServiceClient extends grpc.Client {
  /**
   * Stop the reply running in a session (the partial text is kept, marked interrupted), wherever
   * it runs. A StreamMessage call that closes does not stop its reply: a client cannot tell the
   * server "I cancelled" from "my connection broke" (both are CANCELLED), so the reply goes on for
   * a grace (10 s) for a ResumeStream, then stops. A client that means Stop calls this, then
   * cancels its call. Nothing happens when no reply is running.
   */
  CancelReply(argument: _genai_chat_v1_CancelReplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_CancelReplyResponse__Output>): grpc.ClientUnaryCall;
  CancelReply(argument: _genai_chat_v1_CancelReplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_CancelReplyResponse__Output>): grpc.ClientUnaryCall;
  CancelReply(argument: _genai_chat_v1_CancelReplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_CancelReplyResponse__Output>): grpc.ClientUnaryCall;
  CancelReply(argument: _genai_chat_v1_CancelReplyRequest, callback: grpc.requestCallback<_genai_chat_v1_CancelReplyResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Stop the reply running in a session (the partial text is kept, marked interrupted), wherever
   * it runs. A StreamMessage call that closes does not stop its reply: a client cannot tell the
   * server "I cancelled" from "my connection broke" (both are CANCELLED), so the reply goes on for
   * a grace (10 s) for a ResumeStream, then stops. A client that means Stop calls this, then
   * cancels its call. Nothing happens when no reply is running.
   */
  cancelReply(argument: _genai_chat_v1_CancelReplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_CancelReplyResponse__Output>): grpc.ClientUnaryCall;
  cancelReply(argument: _genai_chat_v1_CancelReplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_CancelReplyResponse__Output>): grpc.ClientUnaryCall;
  cancelReply(argument: _genai_chat_v1_CancelReplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_CancelReplyResponse__Output>): grpc.ClientUnaryCall;
  cancelReply(argument: _genai_chat_v1_CancelReplyRequest, callback: grpc.requestCallback<_genai_chat_v1_CancelReplyResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Bidirectional: one long-lived stream per client. The client sends, cancels, says it is
   * typing and pings; the server streams the replies' ChatEvents, pongs and others' typing.
   * A bad client event is answered with an `error` event and the stream stays open.
   */
  Chat(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_genai_chat_v1_ChatRequest, _genai_chat_v1_ChatResponse__Output>;
  Chat(options?: grpc.CallOptions): grpc.ClientDuplexStream<_genai_chat_v1_ChatRequest, _genai_chat_v1_ChatResponse__Output>;
  /**
   * Bidirectional: one long-lived stream per client. The client sends, cancels, says it is
   * typing and pings; the server streams the replies' ChatEvents, pongs and others' typing.
   * A bad client event is answered with an `error` event and the stream stays open.
   */
  chat(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_genai_chat_v1_ChatRequest, _genai_chat_v1_ChatResponse__Output>;
  chat(options?: grpc.CallOptions): grpc.ClientDuplexStream<_genai_chat_v1_ChatRequest, _genai_chat_v1_ChatResponse__Output>;
  
  /**
   * Forget the conversation, keep the session. FAILED_PRECONDITION while a reply is running.
   */
  ClearHistory(argument: _genai_chat_v1_ClearHistoryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ClearHistoryResponse__Output>): grpc.ClientUnaryCall;
  ClearHistory(argument: _genai_chat_v1_ClearHistoryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_ClearHistoryResponse__Output>): grpc.ClientUnaryCall;
  ClearHistory(argument: _genai_chat_v1_ClearHistoryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ClearHistoryResponse__Output>): grpc.ClientUnaryCall;
  ClearHistory(argument: _genai_chat_v1_ClearHistoryRequest, callback: grpc.requestCallback<_genai_chat_v1_ClearHistoryResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Forget the conversation, keep the session. FAILED_PRECONDITION while a reply is running.
   */
  clearHistory(argument: _genai_chat_v1_ClearHistoryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ClearHistoryResponse__Output>): grpc.ClientUnaryCall;
  clearHistory(argument: _genai_chat_v1_ClearHistoryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_ClearHistoryResponse__Output>): grpc.ClientUnaryCall;
  clearHistory(argument: _genai_chat_v1_ClearHistoryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ClearHistoryResponse__Output>): grpc.ClientUnaryCall;
  clearHistory(argument: _genai_chat_v1_ClearHistoryRequest, callback: grpc.requestCallback<_genai_chat_v1_ClearHistoryResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Create an empty session.
   */
  CreateSession(argument: _genai_chat_v1_CreateSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_CreateSessionResponse__Output>): grpc.ClientUnaryCall;
  CreateSession(argument: _genai_chat_v1_CreateSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_CreateSessionResponse__Output>): grpc.ClientUnaryCall;
  CreateSession(argument: _genai_chat_v1_CreateSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_CreateSessionResponse__Output>): grpc.ClientUnaryCall;
  CreateSession(argument: _genai_chat_v1_CreateSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_CreateSessionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Create an empty session.
   */
  createSession(argument: _genai_chat_v1_CreateSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_CreateSessionResponse__Output>): grpc.ClientUnaryCall;
  createSession(argument: _genai_chat_v1_CreateSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_CreateSessionResponse__Output>): grpc.ClientUnaryCall;
  createSession(argument: _genai_chat_v1_CreateSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_CreateSessionResponse__Output>): grpc.ClientUnaryCall;
  createSession(argument: _genai_chat_v1_CreateSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_CreateSessionResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Delete a session; a reply running in it is cancelled first.
   */
  DeleteSession(argument: _genai_chat_v1_DeleteSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_DeleteSessionResponse__Output>): grpc.ClientUnaryCall;
  DeleteSession(argument: _genai_chat_v1_DeleteSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_DeleteSessionResponse__Output>): grpc.ClientUnaryCall;
  DeleteSession(argument: _genai_chat_v1_DeleteSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_DeleteSessionResponse__Output>): grpc.ClientUnaryCall;
  DeleteSession(argument: _genai_chat_v1_DeleteSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_DeleteSessionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Delete a session; a reply running in it is cancelled first.
   */
  deleteSession(argument: _genai_chat_v1_DeleteSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_DeleteSessionResponse__Output>): grpc.ClientUnaryCall;
  deleteSession(argument: _genai_chat_v1_DeleteSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_DeleteSessionResponse__Output>): grpc.ClientUnaryCall;
  deleteSession(argument: _genai_chat_v1_DeleteSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_DeleteSessionResponse__Output>): grpc.ClientUnaryCall;
  deleteSession(argument: _genai_chat_v1_DeleteSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_DeleteSessionResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The conversation so far.
   */
  GetHistory(argument: _genai_chat_v1_GetHistoryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetHistoryResponse__Output>): grpc.ClientUnaryCall;
  GetHistory(argument: _genai_chat_v1_GetHistoryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_GetHistoryResponse__Output>): grpc.ClientUnaryCall;
  GetHistory(argument: _genai_chat_v1_GetHistoryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetHistoryResponse__Output>): grpc.ClientUnaryCall;
  GetHistory(argument: _genai_chat_v1_GetHistoryRequest, callback: grpc.requestCallback<_genai_chat_v1_GetHistoryResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The conversation so far.
   */
  getHistory(argument: _genai_chat_v1_GetHistoryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetHistoryResponse__Output>): grpc.ClientUnaryCall;
  getHistory(argument: _genai_chat_v1_GetHistoryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_GetHistoryResponse__Output>): grpc.ClientUnaryCall;
  getHistory(argument: _genai_chat_v1_GetHistoryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetHistoryResponse__Output>): grpc.ClientUnaryCall;
  getHistory(argument: _genai_chat_v1_GetHistoryRequest, callback: grpc.requestCallback<_genai_chat_v1_GetHistoryResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Counters and latency percentiles: the same shape as GET /stats on the HTTP servers.
   */
  GetServerStats(argument: _genai_chat_v1_GetServerStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetServerStatsResponse__Output>): grpc.ClientUnaryCall;
  GetServerStats(argument: _genai_chat_v1_GetServerStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_GetServerStatsResponse__Output>): grpc.ClientUnaryCall;
  GetServerStats(argument: _genai_chat_v1_GetServerStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetServerStatsResponse__Output>): grpc.ClientUnaryCall;
  GetServerStats(argument: _genai_chat_v1_GetServerStatsRequest, callback: grpc.requestCallback<_genai_chat_v1_GetServerStatsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Counters and latency percentiles: the same shape as GET /stats on the HTTP servers.
   */
  getServerStats(argument: _genai_chat_v1_GetServerStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetServerStatsResponse__Output>): grpc.ClientUnaryCall;
  getServerStats(argument: _genai_chat_v1_GetServerStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_GetServerStatsResponse__Output>): grpc.ClientUnaryCall;
  getServerStats(argument: _genai_chat_v1_GetServerStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetServerStatsResponse__Output>): grpc.ClientUnaryCall;
  getServerStats(argument: _genai_chat_v1_GetServerStatsRequest, callback: grpc.requestCallback<_genai_chat_v1_GetServerStatsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * One session's metadata.
   */
  GetSession(argument: _genai_chat_v1_GetSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  GetSession(argument: _genai_chat_v1_GetSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  GetSession(argument: _genai_chat_v1_GetSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  GetSession(argument: _genai_chat_v1_GetSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * One session's metadata.
   */
  getSession(argument: _genai_chat_v1_GetSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  getSession(argument: _genai_chat_v1_GetSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  getSession(argument: _genai_chat_v1_GetSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  getSession(argument: _genai_chat_v1_GetSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_GetSessionResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The caller's sessions (owned or shared with them), oldest first, a page at a time.
   */
  ListSessions(argument: _genai_chat_v1_ListSessionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  ListSessions(argument: _genai_chat_v1_ListSessionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  ListSessions(argument: _genai_chat_v1_ListSessionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  ListSessions(argument: _genai_chat_v1_ListSessionsRequest, callback: grpc.requestCallback<_genai_chat_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The caller's sessions (owned or shared with them), oldest first, a page at a time.
   */
  listSessions(argument: _genai_chat_v1_ListSessionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  listSessions(argument: _genai_chat_v1_ListSessionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  listSessions(argument: _genai_chat_v1_ListSessionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  listSessions(argument: _genai_chat_v1_ListSessionsRequest, callback: grpc.requestCallback<_genai_chat_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Server streaming: read one reply from the session's reply log, from a point on: what came
   * after `after` (0: from its start), then live until its `done` or `error`. A client whose
   * call broke calls it with the last `seq` it read; a reply started over another transport (or
   * on another instance, with REDIS_URL) reads the same way. A reply the log no longer holds
   * from that point begins with a `reset` (the history has the text); a reply that is over and
   * whose events are gone ends at once after it. Reading never cancels the reply.
   */
  ResumeStream(argument: _genai_chat_v1_ResumeStreamRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_ResumeStreamResponse__Output>;
  ResumeStream(argument: _genai_chat_v1_ResumeStreamRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_ResumeStreamResponse__Output>;
  /**
   * Server streaming: read one reply from the session's reply log, from a point on: what came
   * after `after` (0: from its start), then live until its `done` or `error`. A client whose
   * call broke calls it with the last `seq` it read; a reply started over another transport (or
   * on another instance, with REDIS_URL) reads the same way. A reply the log no longer holds
   * from that point begins with a `reset` (the history has the text); a reply that is over and
   * whose events are gone ends at once after it. Reading never cancels the reply.
   */
  resumeStream(argument: _genai_chat_v1_ResumeStreamRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_ResumeStreamResponse__Output>;
  resumeStream(argument: _genai_chat_v1_ResumeStreamRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_ResumeStreamResponse__Output>;
  
  /**
   * Unary: send a message, get the whole reply when the model has finished.
   */
  SendMessage(argument: _genai_chat_v1_SendMessageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_SendMessageResponse__Output>): grpc.ClientUnaryCall;
  SendMessage(argument: _genai_chat_v1_SendMessageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_SendMessageResponse__Output>): grpc.ClientUnaryCall;
  SendMessage(argument: _genai_chat_v1_SendMessageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_SendMessageResponse__Output>): grpc.ClientUnaryCall;
  SendMessage(argument: _genai_chat_v1_SendMessageRequest, callback: grpc.requestCallback<_genai_chat_v1_SendMessageResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Unary: send a message, get the whole reply when the model has finished.
   */
  sendMessage(argument: _genai_chat_v1_SendMessageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_SendMessageResponse__Output>): grpc.ClientUnaryCall;
  sendMessage(argument: _genai_chat_v1_SendMessageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_SendMessageResponse__Output>): grpc.ClientUnaryCall;
  sendMessage(argument: _genai_chat_v1_SendMessageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_SendMessageResponse__Output>): grpc.ClientUnaryCall;
  sendMessage(argument: _genai_chat_v1_SendMessageRequest, callback: grpc.requestCallback<_genai_chat_v1_SendMessageResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Invite another principal into a session (its owner only; PERMISSION_DENIED otherwise).
   */
  ShareSession(argument: _genai_chat_v1_ShareSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ShareSessionResponse__Output>): grpc.ClientUnaryCall;
  ShareSession(argument: _genai_chat_v1_ShareSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_ShareSessionResponse__Output>): grpc.ClientUnaryCall;
  ShareSession(argument: _genai_chat_v1_ShareSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ShareSessionResponse__Output>): grpc.ClientUnaryCall;
  ShareSession(argument: _genai_chat_v1_ShareSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_ShareSessionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Invite another principal into a session (its owner only; PERMISSION_DENIED otherwise).
   */
  shareSession(argument: _genai_chat_v1_ShareSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ShareSessionResponse__Output>): grpc.ClientUnaryCall;
  shareSession(argument: _genai_chat_v1_ShareSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_ShareSessionResponse__Output>): grpc.ClientUnaryCall;
  shareSession(argument: _genai_chat_v1_ShareSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ShareSessionResponse__Output>): grpc.ClientUnaryCall;
  shareSession(argument: _genai_chat_v1_ShareSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_ShareSessionResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Server streaming: send a message, receive the reply as it is written:
   * one `start`, then `delta`s, then `done` (or `error`). A closed call keeps the reply going for
   * a grace, so that ResumeStream can read the rest; CancelReply stops it (a passed deadline too).
   */
  StreamMessage(argument: _genai_chat_v1_StreamMessageRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_StreamMessageResponse__Output>;
  StreamMessage(argument: _genai_chat_v1_StreamMessageRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_StreamMessageResponse__Output>;
  /**
   * Server streaming: send a message, receive the reply as it is written:
   * one `start`, then `delta`s, then `done` (or `error`). A closed call keeps the reply going for
   * a grace, so that ResumeStream can read the rest; CancelReply stops it (a passed deadline too).
   */
  streamMessage(argument: _genai_chat_v1_StreamMessageRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_StreamMessageResponse__Output>;
  streamMessage(argument: _genai_chat_v1_StreamMessageRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_StreamMessageResponse__Output>;
  
}

/**
 * The chat service. Every RPC that names a session answers NOT_FOUND for an unknown one.
 */
export interface ChatServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Stop the reply running in a session (the partial text is kept, marked interrupted), wherever
   * it runs. A StreamMessage call that closes does not stop its reply: a client cannot tell the
   * server "I cancelled" from "my connection broke" (both are CANCELLED), so the reply goes on for
   * a grace (10 s) for a ResumeStream, then stops. A client that means Stop calls this, then
   * cancels its call. Nothing happens when no reply is running.
   */
  CancelReply: grpc.handleUnaryCall<_genai_chat_v1_CancelReplyRequest__Output, _genai_chat_v1_CancelReplyResponse>;
  
  /**
   * Bidirectional: one long-lived stream per client. The client sends, cancels, says it is
   * typing and pings; the server streams the replies' ChatEvents, pongs and others' typing.
   * A bad client event is answered with an `error` event and the stream stays open.
   */
  Chat: grpc.handleBidiStreamingCall<_genai_chat_v1_ChatRequest__Output, _genai_chat_v1_ChatResponse>;
  
  /**
   * Forget the conversation, keep the session. FAILED_PRECONDITION while a reply is running.
   */
  ClearHistory: grpc.handleUnaryCall<_genai_chat_v1_ClearHistoryRequest__Output, _genai_chat_v1_ClearHistoryResponse>;
  
  /**
   * Create an empty session.
   */
  CreateSession: grpc.handleUnaryCall<_genai_chat_v1_CreateSessionRequest__Output, _genai_chat_v1_CreateSessionResponse>;
  
  /**
   * Delete a session; a reply running in it is cancelled first.
   */
  DeleteSession: grpc.handleUnaryCall<_genai_chat_v1_DeleteSessionRequest__Output, _genai_chat_v1_DeleteSessionResponse>;
  
  /**
   * The conversation so far.
   */
  GetHistory: grpc.handleUnaryCall<_genai_chat_v1_GetHistoryRequest__Output, _genai_chat_v1_GetHistoryResponse>;
  
  /**
   * Counters and latency percentiles: the same shape as GET /stats on the HTTP servers.
   */
  GetServerStats: grpc.handleUnaryCall<_genai_chat_v1_GetServerStatsRequest__Output, _genai_chat_v1_GetServerStatsResponse>;
  
  /**
   * One session's metadata.
   */
  GetSession: grpc.handleUnaryCall<_genai_chat_v1_GetSessionRequest__Output, _genai_chat_v1_GetSessionResponse>;
  
  /**
   * The caller's sessions (owned or shared with them), oldest first, a page at a time.
   */
  ListSessions: grpc.handleUnaryCall<_genai_chat_v1_ListSessionsRequest__Output, _genai_chat_v1_ListSessionsResponse>;
  
  /**
   * Server streaming: read one reply from the session's reply log, from a point on: what came
   * after `after` (0: from its start), then live until its `done` or `error`. A client whose
   * call broke calls it with the last `seq` it read; a reply started over another transport (or
   * on another instance, with REDIS_URL) reads the same way. A reply the log no longer holds
   * from that point begins with a `reset` (the history has the text); a reply that is over and
   * whose events are gone ends at once after it. Reading never cancels the reply.
   */
  ResumeStream: grpc.handleServerStreamingCall<_genai_chat_v1_ResumeStreamRequest__Output, _genai_chat_v1_ResumeStreamResponse>;
  
  /**
   * Unary: send a message, get the whole reply when the model has finished.
   */
  SendMessage: grpc.handleUnaryCall<_genai_chat_v1_SendMessageRequest__Output, _genai_chat_v1_SendMessageResponse>;
  
  /**
   * Invite another principal into a session (its owner only; PERMISSION_DENIED otherwise).
   */
  ShareSession: grpc.handleUnaryCall<_genai_chat_v1_ShareSessionRequest__Output, _genai_chat_v1_ShareSessionResponse>;
  
  /**
   * Server streaming: send a message, receive the reply as it is written:
   * one `start`, then `delta`s, then `done` (or `error`). A closed call keeps the reply going for
   * a grace, so that ResumeStream can read the rest; CancelReply stops it (a passed deadline too).
   */
  StreamMessage: grpc.handleServerStreamingCall<_genai_chat_v1_StreamMessageRequest__Output, _genai_chat_v1_StreamMessageResponse>;
  
}

export interface ChatServiceDefinition extends grpc.ServiceDefinition {
  CancelReply: MethodDefinition<_genai_chat_v1_CancelReplyRequest, _genai_chat_v1_CancelReplyResponse, _genai_chat_v1_CancelReplyRequest__Output, _genai_chat_v1_CancelReplyResponse__Output>
  Chat: MethodDefinition<_genai_chat_v1_ChatRequest, _genai_chat_v1_ChatResponse, _genai_chat_v1_ChatRequest__Output, _genai_chat_v1_ChatResponse__Output>
  ClearHistory: MethodDefinition<_genai_chat_v1_ClearHistoryRequest, _genai_chat_v1_ClearHistoryResponse, _genai_chat_v1_ClearHistoryRequest__Output, _genai_chat_v1_ClearHistoryResponse__Output>
  CreateSession: MethodDefinition<_genai_chat_v1_CreateSessionRequest, _genai_chat_v1_CreateSessionResponse, _genai_chat_v1_CreateSessionRequest__Output, _genai_chat_v1_CreateSessionResponse__Output>
  DeleteSession: MethodDefinition<_genai_chat_v1_DeleteSessionRequest, _genai_chat_v1_DeleteSessionResponse, _genai_chat_v1_DeleteSessionRequest__Output, _genai_chat_v1_DeleteSessionResponse__Output>
  GetHistory: MethodDefinition<_genai_chat_v1_GetHistoryRequest, _genai_chat_v1_GetHistoryResponse, _genai_chat_v1_GetHistoryRequest__Output, _genai_chat_v1_GetHistoryResponse__Output>
  GetServerStats: MethodDefinition<_genai_chat_v1_GetServerStatsRequest, _genai_chat_v1_GetServerStatsResponse, _genai_chat_v1_GetServerStatsRequest__Output, _genai_chat_v1_GetServerStatsResponse__Output>
  GetSession: MethodDefinition<_genai_chat_v1_GetSessionRequest, _genai_chat_v1_GetSessionResponse, _genai_chat_v1_GetSessionRequest__Output, _genai_chat_v1_GetSessionResponse__Output>
  ListSessions: MethodDefinition<_genai_chat_v1_ListSessionsRequest, _genai_chat_v1_ListSessionsResponse, _genai_chat_v1_ListSessionsRequest__Output, _genai_chat_v1_ListSessionsResponse__Output>
  ResumeStream: MethodDefinition<_genai_chat_v1_ResumeStreamRequest, _genai_chat_v1_ResumeStreamResponse, _genai_chat_v1_ResumeStreamRequest__Output, _genai_chat_v1_ResumeStreamResponse__Output>
  SendMessage: MethodDefinition<_genai_chat_v1_SendMessageRequest, _genai_chat_v1_SendMessageResponse, _genai_chat_v1_SendMessageRequest__Output, _genai_chat_v1_SendMessageResponse__Output>
  ShareSession: MethodDefinition<_genai_chat_v1_ShareSessionRequest, _genai_chat_v1_ShareSessionResponse, _genai_chat_v1_ShareSessionRequest__Output, _genai_chat_v1_ShareSessionResponse__Output>
  StreamMessage: MethodDefinition<_genai_chat_v1_StreamMessageRequest, _genai_chat_v1_StreamMessageResponse, _genai_chat_v1_StreamMessageRequest__Output, _genai_chat_v1_StreamMessageResponse__Output>
}
