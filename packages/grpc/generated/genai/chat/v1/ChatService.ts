// Original file: ../../proto/chat.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ChatClientEvent as _genai_chat_v1_ChatClientEvent, ChatClientEvent__Output as _genai_chat_v1_ChatClientEvent__Output } from '../../../genai/chat/v1/ChatClientEvent.ts';
import type { ChatEvent as _genai_chat_v1_ChatEvent, ChatEvent__Output as _genai_chat_v1_ChatEvent__Output } from '../../../genai/chat/v1/ChatEvent.ts';
import type { ChatReply as _genai_chat_v1_ChatReply, ChatReply__Output as _genai_chat_v1_ChatReply__Output } from '../../../genai/chat/v1/ChatReply.ts';
import type { ChatServerEvent as _genai_chat_v1_ChatServerEvent, ChatServerEvent__Output as _genai_chat_v1_ChatServerEvent__Output } from '../../../genai/chat/v1/ChatServerEvent.ts';
import type { ClearHistoryRequest as _genai_chat_v1_ClearHistoryRequest, ClearHistoryRequest__Output as _genai_chat_v1_ClearHistoryRequest__Output } from '../../../genai/chat/v1/ClearHistoryRequest.ts';
import type { ClearHistoryResponse as _genai_chat_v1_ClearHistoryResponse, ClearHistoryResponse__Output as _genai_chat_v1_ClearHistoryResponse__Output } from '../../../genai/chat/v1/ClearHistoryResponse.ts';
import type { CreateSessionRequest as _genai_chat_v1_CreateSessionRequest, CreateSessionRequest__Output as _genai_chat_v1_CreateSessionRequest__Output } from '../../../genai/chat/v1/CreateSessionRequest.ts';
import type { DeleteSessionRequest as _genai_chat_v1_DeleteSessionRequest, DeleteSessionRequest__Output as _genai_chat_v1_DeleteSessionRequest__Output } from '../../../genai/chat/v1/DeleteSessionRequest.ts';
import type { DeleteSessionResponse as _genai_chat_v1_DeleteSessionResponse, DeleteSessionResponse__Output as _genai_chat_v1_DeleteSessionResponse__Output } from '../../../genai/chat/v1/DeleteSessionResponse.ts';
import type { GetHistoryRequest as _genai_chat_v1_GetHistoryRequest, GetHistoryRequest__Output as _genai_chat_v1_GetHistoryRequest__Output } from '../../../genai/chat/v1/GetHistoryRequest.ts';
import type { GetHistoryResponse as _genai_chat_v1_GetHistoryResponse, GetHistoryResponse__Output as _genai_chat_v1_GetHistoryResponse__Output } from '../../../genai/chat/v1/GetHistoryResponse.ts';
import type { GetServerStatsRequest as _genai_chat_v1_GetServerStatsRequest, GetServerStatsRequest__Output as _genai_chat_v1_GetServerStatsRequest__Output } from '../../../genai/chat/v1/GetServerStatsRequest.ts';
import type { GetSessionRequest as _genai_chat_v1_GetSessionRequest, GetSessionRequest__Output as _genai_chat_v1_GetSessionRequest__Output } from '../../../genai/chat/v1/GetSessionRequest.ts';
import type { ListSessionsRequest as _genai_chat_v1_ListSessionsRequest, ListSessionsRequest__Output as _genai_chat_v1_ListSessionsRequest__Output } from '../../../genai/chat/v1/ListSessionsRequest.ts';
import type { ListSessionsResponse as _genai_chat_v1_ListSessionsResponse, ListSessionsResponse__Output as _genai_chat_v1_ListSessionsResponse__Output } from '../../../genai/chat/v1/ListSessionsResponse.ts';
import type { SendMessageRequest as _genai_chat_v1_SendMessageRequest, SendMessageRequest__Output as _genai_chat_v1_SendMessageRequest__Output } from '../../../genai/chat/v1/SendMessageRequest.ts';
import type { ServerStats as _genai_chat_v1_ServerStats, ServerStats__Output as _genai_chat_v1_ServerStats__Output } from '../../../genai/chat/v1/ServerStats.ts';
import type { Session as _genai_chat_v1_Session, Session__Output as _genai_chat_v1_Session__Output } from '../../../genai/chat/v1/Session.ts';
import type { ShareSessionRequest as _genai_chat_v1_ShareSessionRequest, ShareSessionRequest__Output as _genai_chat_v1_ShareSessionRequest__Output } from '../../../genai/chat/v1/ShareSessionRequest.ts';
import type { StreamMessageRequest as _genai_chat_v1_StreamMessageRequest, StreamMessageRequest__Output as _genai_chat_v1_StreamMessageRequest__Output } from '../../../genai/chat/v1/StreamMessageRequest.ts';

/**
 * The chat service. Every RPC that names a session answers NOT_FOUND for an unknown one.
 */
export interface ChatServiceClient extends grpc.Client {
  /**
   * Bidirectional: one long-lived stream per client. The client sends, cancels, says it is
   * typing and pings; the server streams the replies' ChatEvents, pongs and others' typing.
   * A bad client event is answered with an `error` event and the stream stays open.
   */
  Chat(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_genai_chat_v1_ChatClientEvent, _genai_chat_v1_ChatServerEvent__Output>;
  Chat(options?: grpc.CallOptions): grpc.ClientDuplexStream<_genai_chat_v1_ChatClientEvent, _genai_chat_v1_ChatServerEvent__Output>;
  /**
   * Bidirectional: one long-lived stream per client. The client sends, cancels, says it is
   * typing and pings; the server streams the replies' ChatEvents, pongs and others' typing.
   * A bad client event is answered with an `error` event and the stream stays open.
   */
  chat(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_genai_chat_v1_ChatClientEvent, _genai_chat_v1_ChatServerEvent__Output>;
  chat(options?: grpc.CallOptions): grpc.ClientDuplexStream<_genai_chat_v1_ChatClientEvent, _genai_chat_v1_ChatServerEvent__Output>;
  
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
  CreateSession(argument: _genai_chat_v1_CreateSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  CreateSession(argument: _genai_chat_v1_CreateSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  CreateSession(argument: _genai_chat_v1_CreateSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  CreateSession(argument: _genai_chat_v1_CreateSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  /**
   * Create an empty session.
   */
  createSession(argument: _genai_chat_v1_CreateSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  createSession(argument: _genai_chat_v1_CreateSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  createSession(argument: _genai_chat_v1_CreateSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  createSession(argument: _genai_chat_v1_CreateSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  
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
  GetServerStats(argument: _genai_chat_v1_GetServerStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ServerStats__Output>): grpc.ClientUnaryCall;
  GetServerStats(argument: _genai_chat_v1_GetServerStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_ServerStats__Output>): grpc.ClientUnaryCall;
  GetServerStats(argument: _genai_chat_v1_GetServerStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ServerStats__Output>): grpc.ClientUnaryCall;
  GetServerStats(argument: _genai_chat_v1_GetServerStatsRequest, callback: grpc.requestCallback<_genai_chat_v1_ServerStats__Output>): grpc.ClientUnaryCall;
  /**
   * Counters and latency percentiles: the same shape as GET /stats on the HTTP servers.
   */
  getServerStats(argument: _genai_chat_v1_GetServerStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ServerStats__Output>): grpc.ClientUnaryCall;
  getServerStats(argument: _genai_chat_v1_GetServerStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_ServerStats__Output>): grpc.ClientUnaryCall;
  getServerStats(argument: _genai_chat_v1_GetServerStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ServerStats__Output>): grpc.ClientUnaryCall;
  getServerStats(argument: _genai_chat_v1_GetServerStatsRequest, callback: grpc.requestCallback<_genai_chat_v1_ServerStats__Output>): grpc.ClientUnaryCall;
  
  /**
   * One session's metadata.
   */
  GetSession(argument: _genai_chat_v1_GetSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  GetSession(argument: _genai_chat_v1_GetSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  GetSession(argument: _genai_chat_v1_GetSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  GetSession(argument: _genai_chat_v1_GetSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  /**
   * One session's metadata.
   */
  getSession(argument: _genai_chat_v1_GetSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  getSession(argument: _genai_chat_v1_GetSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  getSession(argument: _genai_chat_v1_GetSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  getSession(argument: _genai_chat_v1_GetSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  
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
   * Unary: send a message, get the whole reply when the model has finished.
   */
  SendMessage(argument: _genai_chat_v1_SendMessageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ChatReply__Output>): grpc.ClientUnaryCall;
  SendMessage(argument: _genai_chat_v1_SendMessageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_ChatReply__Output>): grpc.ClientUnaryCall;
  SendMessage(argument: _genai_chat_v1_SendMessageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ChatReply__Output>): grpc.ClientUnaryCall;
  SendMessage(argument: _genai_chat_v1_SendMessageRequest, callback: grpc.requestCallback<_genai_chat_v1_ChatReply__Output>): grpc.ClientUnaryCall;
  /**
   * Unary: send a message, get the whole reply when the model has finished.
   */
  sendMessage(argument: _genai_chat_v1_SendMessageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ChatReply__Output>): grpc.ClientUnaryCall;
  sendMessage(argument: _genai_chat_v1_SendMessageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_ChatReply__Output>): grpc.ClientUnaryCall;
  sendMessage(argument: _genai_chat_v1_SendMessageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_ChatReply__Output>): grpc.ClientUnaryCall;
  sendMessage(argument: _genai_chat_v1_SendMessageRequest, callback: grpc.requestCallback<_genai_chat_v1_ChatReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Invite another principal into a session (its owner only; PERMISSION_DENIED otherwise).
   */
  ShareSession(argument: _genai_chat_v1_ShareSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  ShareSession(argument: _genai_chat_v1_ShareSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  ShareSession(argument: _genai_chat_v1_ShareSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  ShareSession(argument: _genai_chat_v1_ShareSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  /**
   * Invite another principal into a session (its owner only; PERMISSION_DENIED otherwise).
   */
  shareSession(argument: _genai_chat_v1_ShareSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  shareSession(argument: _genai_chat_v1_ShareSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  shareSession(argument: _genai_chat_v1_ShareSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  shareSession(argument: _genai_chat_v1_ShareSessionRequest, callback: grpc.requestCallback<_genai_chat_v1_Session__Output>): grpc.ClientUnaryCall;
  
  /**
   * Server streaming: send a message, receive the reply as it is written:
   * one `start`, then `delta`s, then `done` (or `error`). Cancelling the call stops the model.
   */
  StreamMessage(argument: _genai_chat_v1_StreamMessageRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_ChatEvent__Output>;
  StreamMessage(argument: _genai_chat_v1_StreamMessageRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_ChatEvent__Output>;
  /**
   * Server streaming: send a message, receive the reply as it is written:
   * one `start`, then `delta`s, then `done` (or `error`). Cancelling the call stops the model.
   */
  streamMessage(argument: _genai_chat_v1_StreamMessageRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_ChatEvent__Output>;
  streamMessage(argument: _genai_chat_v1_StreamMessageRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_genai_chat_v1_ChatEvent__Output>;
  
}

/**
 * The chat service. Every RPC that names a session answers NOT_FOUND for an unknown one.
 */
export interface ChatServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Bidirectional: one long-lived stream per client. The client sends, cancels, says it is
   * typing and pings; the server streams the replies' ChatEvents, pongs and others' typing.
   * A bad client event is answered with an `error` event and the stream stays open.
   */
  Chat: grpc.handleBidiStreamingCall<_genai_chat_v1_ChatClientEvent__Output, _genai_chat_v1_ChatServerEvent>;
  
  /**
   * Forget the conversation, keep the session. FAILED_PRECONDITION while a reply is running.
   */
  ClearHistory: grpc.handleUnaryCall<_genai_chat_v1_ClearHistoryRequest__Output, _genai_chat_v1_ClearHistoryResponse>;
  
  /**
   * Create an empty session.
   */
  CreateSession: grpc.handleUnaryCall<_genai_chat_v1_CreateSessionRequest__Output, _genai_chat_v1_Session>;
  
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
  GetServerStats: grpc.handleUnaryCall<_genai_chat_v1_GetServerStatsRequest__Output, _genai_chat_v1_ServerStats>;
  
  /**
   * One session's metadata.
   */
  GetSession: grpc.handleUnaryCall<_genai_chat_v1_GetSessionRequest__Output, _genai_chat_v1_Session>;
  
  /**
   * The caller's sessions (owned or shared with them), oldest first, a page at a time.
   */
  ListSessions: grpc.handleUnaryCall<_genai_chat_v1_ListSessionsRequest__Output, _genai_chat_v1_ListSessionsResponse>;
  
  /**
   * Unary: send a message, get the whole reply when the model has finished.
   */
  SendMessage: grpc.handleUnaryCall<_genai_chat_v1_SendMessageRequest__Output, _genai_chat_v1_ChatReply>;
  
  /**
   * Invite another principal into a session (its owner only; PERMISSION_DENIED otherwise).
   */
  ShareSession: grpc.handleUnaryCall<_genai_chat_v1_ShareSessionRequest__Output, _genai_chat_v1_Session>;
  
  /**
   * Server streaming: send a message, receive the reply as it is written:
   * one `start`, then `delta`s, then `done` (or `error`). Cancelling the call stops the model.
   */
  StreamMessage: grpc.handleServerStreamingCall<_genai_chat_v1_StreamMessageRequest__Output, _genai_chat_v1_ChatEvent>;
  
}

export interface ChatServiceDefinition extends grpc.ServiceDefinition {
  Chat: MethodDefinition<_genai_chat_v1_ChatClientEvent, _genai_chat_v1_ChatServerEvent, _genai_chat_v1_ChatClientEvent__Output, _genai_chat_v1_ChatServerEvent__Output>
  ClearHistory: MethodDefinition<_genai_chat_v1_ClearHistoryRequest, _genai_chat_v1_ClearHistoryResponse, _genai_chat_v1_ClearHistoryRequest__Output, _genai_chat_v1_ClearHistoryResponse__Output>
  CreateSession: MethodDefinition<_genai_chat_v1_CreateSessionRequest, _genai_chat_v1_Session, _genai_chat_v1_CreateSessionRequest__Output, _genai_chat_v1_Session__Output>
  DeleteSession: MethodDefinition<_genai_chat_v1_DeleteSessionRequest, _genai_chat_v1_DeleteSessionResponse, _genai_chat_v1_DeleteSessionRequest__Output, _genai_chat_v1_DeleteSessionResponse__Output>
  GetHistory: MethodDefinition<_genai_chat_v1_GetHistoryRequest, _genai_chat_v1_GetHistoryResponse, _genai_chat_v1_GetHistoryRequest__Output, _genai_chat_v1_GetHistoryResponse__Output>
  GetServerStats: MethodDefinition<_genai_chat_v1_GetServerStatsRequest, _genai_chat_v1_ServerStats, _genai_chat_v1_GetServerStatsRequest__Output, _genai_chat_v1_ServerStats__Output>
  GetSession: MethodDefinition<_genai_chat_v1_GetSessionRequest, _genai_chat_v1_Session, _genai_chat_v1_GetSessionRequest__Output, _genai_chat_v1_Session__Output>
  ListSessions: MethodDefinition<_genai_chat_v1_ListSessionsRequest, _genai_chat_v1_ListSessionsResponse, _genai_chat_v1_ListSessionsRequest__Output, _genai_chat_v1_ListSessionsResponse__Output>
  SendMessage: MethodDefinition<_genai_chat_v1_SendMessageRequest, _genai_chat_v1_ChatReply, _genai_chat_v1_SendMessageRequest__Output, _genai_chat_v1_ChatReply__Output>
  ShareSession: MethodDefinition<_genai_chat_v1_ShareSessionRequest, _genai_chat_v1_Session, _genai_chat_v1_ShareSessionRequest__Output, _genai_chat_v1_Session__Output>
  StreamMessage: MethodDefinition<_genai_chat_v1_StreamMessageRequest, _genai_chat_v1_ChatEvent, _genai_chat_v1_StreamMessageRequest__Output, _genai_chat_v1_ChatEvent__Output>
}
