import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ActiveTotal as _genai_chat_v1_ActiveTotal, ActiveTotal__Output as _genai_chat_v1_ActiveTotal__Output } from './genai/chat/v1/ActiveTotal.ts';
import type { ByteCounts as _genai_chat_v1_ByteCounts, ByteCounts__Output as _genai_chat_v1_ByteCounts__Output } from './genai/chat/v1/ByteCounts.ts';
import type { CancelCommand as _genai_chat_v1_CancelCommand, CancelCommand__Output as _genai_chat_v1_CancelCommand__Output } from './genai/chat/v1/CancelCommand.ts';
import type { CancelReplyRequest as _genai_chat_v1_CancelReplyRequest, CancelReplyRequest__Output as _genai_chat_v1_CancelReplyRequest__Output } from './genai/chat/v1/CancelReplyRequest.ts';
import type { CancelReplyResponse as _genai_chat_v1_CancelReplyResponse, CancelReplyResponse__Output as _genai_chat_v1_CancelReplyResponse__Output } from './genai/chat/v1/CancelReplyResponse.ts';
import type { ChatRequest as _genai_chat_v1_ChatRequest, ChatRequest__Output as _genai_chat_v1_ChatRequest__Output } from './genai/chat/v1/ChatRequest.ts';
import type { ChatResponse as _genai_chat_v1_ChatResponse, ChatResponse__Output as _genai_chat_v1_ChatResponse__Output } from './genai/chat/v1/ChatResponse.ts';
import type { ChatServiceClient as _genai_chat_v1_ChatServiceClient, ChatServiceDefinition as _genai_chat_v1_ChatServiceDefinition } from './genai/chat/v1/ChatService.ts';
import type { ClearHistoryRequest as _genai_chat_v1_ClearHistoryRequest, ClearHistoryRequest__Output as _genai_chat_v1_ClearHistoryRequest__Output } from './genai/chat/v1/ClearHistoryRequest.ts';
import type { ClearHistoryResponse as _genai_chat_v1_ClearHistoryResponse, ClearHistoryResponse__Output as _genai_chat_v1_ClearHistoryResponse__Output } from './genai/chat/v1/ClearHistoryResponse.ts';
import type { CreateSessionRequest as _genai_chat_v1_CreateSessionRequest, CreateSessionRequest__Output as _genai_chat_v1_CreateSessionRequest__Output } from './genai/chat/v1/CreateSessionRequest.ts';
import type { CreateSessionResponse as _genai_chat_v1_CreateSessionResponse, CreateSessionResponse__Output as _genai_chat_v1_CreateSessionResponse__Output } from './genai/chat/v1/CreateSessionResponse.ts';
import type { DeleteSessionRequest as _genai_chat_v1_DeleteSessionRequest, DeleteSessionRequest__Output as _genai_chat_v1_DeleteSessionRequest__Output } from './genai/chat/v1/DeleteSessionRequest.ts';
import type { DeleteSessionResponse as _genai_chat_v1_DeleteSessionResponse, DeleteSessionResponse__Output as _genai_chat_v1_DeleteSessionResponse__Output } from './genai/chat/v1/DeleteSessionResponse.ts';
import type { DeltaEvent as _genai_chat_v1_DeltaEvent, DeltaEvent__Output as _genai_chat_v1_DeltaEvent__Output } from './genai/chat/v1/DeltaEvent.ts';
import type { DoneEvent as _genai_chat_v1_DoneEvent, DoneEvent__Output as _genai_chat_v1_DoneEvent__Output } from './genai/chat/v1/DoneEvent.ts';
import type { Error as _genai_chat_v1_Error, Error__Output as _genai_chat_v1_Error__Output } from './genai/chat/v1/Error.ts';
import type { ErrorCounts as _genai_chat_v1_ErrorCounts, ErrorCounts__Output as _genai_chat_v1_ErrorCounts__Output } from './genai/chat/v1/ErrorCounts.ts';
import type { ErrorEvent as _genai_chat_v1_ErrorEvent, ErrorEvent__Output as _genai_chat_v1_ErrorEvent__Output } from './genai/chat/v1/ErrorEvent.ts';
import type { GetHistoryRequest as _genai_chat_v1_GetHistoryRequest, GetHistoryRequest__Output as _genai_chat_v1_GetHistoryRequest__Output } from './genai/chat/v1/GetHistoryRequest.ts';
import type { GetHistoryResponse as _genai_chat_v1_GetHistoryResponse, GetHistoryResponse__Output as _genai_chat_v1_GetHistoryResponse__Output } from './genai/chat/v1/GetHistoryResponse.ts';
import type { GetServerStatsRequest as _genai_chat_v1_GetServerStatsRequest, GetServerStatsRequest__Output as _genai_chat_v1_GetServerStatsRequest__Output } from './genai/chat/v1/GetServerStatsRequest.ts';
import type { GetServerStatsResponse as _genai_chat_v1_GetServerStatsResponse, GetServerStatsResponse__Output as _genai_chat_v1_GetServerStatsResponse__Output } from './genai/chat/v1/GetServerStatsResponse.ts';
import type { GetSessionRequest as _genai_chat_v1_GetSessionRequest, GetSessionRequest__Output as _genai_chat_v1_GetSessionRequest__Output } from './genai/chat/v1/GetSessionRequest.ts';
import type { GetSessionResponse as _genai_chat_v1_GetSessionResponse, GetSessionResponse__Output as _genai_chat_v1_GetSessionResponse__Output } from './genai/chat/v1/GetSessionResponse.ts';
import type { Latencies as _genai_chat_v1_Latencies, Latencies__Output as _genai_chat_v1_Latencies__Output } from './genai/chat/v1/Latencies.ts';
import type { LatencySummary as _genai_chat_v1_LatencySummary, LatencySummary__Output as _genai_chat_v1_LatencySummary__Output } from './genai/chat/v1/LatencySummary.ts';
import type { ListSessionsRequest as _genai_chat_v1_ListSessionsRequest, ListSessionsRequest__Output as _genai_chat_v1_ListSessionsRequest__Output } from './genai/chat/v1/ListSessionsRequest.ts';
import type { ListSessionsResponse as _genai_chat_v1_ListSessionsResponse, ListSessionsResponse__Output as _genai_chat_v1_ListSessionsResponse__Output } from './genai/chat/v1/ListSessionsResponse.ts';
import type { Message as _genai_chat_v1_Message, Message__Output as _genai_chat_v1_Message__Output } from './genai/chat/v1/Message.ts';
import type { ModelInfo as _genai_chat_v1_ModelInfo, ModelInfo__Output as _genai_chat_v1_ModelInfo__Output } from './genai/chat/v1/ModelInfo.ts';
import type { Ping as _genai_chat_v1_Ping, Ping__Output as _genai_chat_v1_Ping__Output } from './genai/chat/v1/Ping.ts';
import type { Pong as _genai_chat_v1_Pong, Pong__Output as _genai_chat_v1_Pong__Output } from './genai/chat/v1/Pong.ts';
import type { ResetEvent as _genai_chat_v1_ResetEvent, ResetEvent__Output as _genai_chat_v1_ResetEvent__Output } from './genai/chat/v1/ResetEvent.ts';
import type { ResumeStreamRequest as _genai_chat_v1_ResumeStreamRequest, ResumeStreamRequest__Output as _genai_chat_v1_ResumeStreamRequest__Output } from './genai/chat/v1/ResumeStreamRequest.ts';
import type { ResumeStreamResponse as _genai_chat_v1_ResumeStreamResponse, ResumeStreamResponse__Output as _genai_chat_v1_ResumeStreamResponse__Output } from './genai/chat/v1/ResumeStreamResponse.ts';
import type { SendCommand as _genai_chat_v1_SendCommand, SendCommand__Output as _genai_chat_v1_SendCommand__Output } from './genai/chat/v1/SendCommand.ts';
import type { SendMessageRequest as _genai_chat_v1_SendMessageRequest, SendMessageRequest__Output as _genai_chat_v1_SendMessageRequest__Output } from './genai/chat/v1/SendMessageRequest.ts';
import type { SendMessageResponse as _genai_chat_v1_SendMessageResponse, SendMessageResponse__Output as _genai_chat_v1_SendMessageResponse__Output } from './genai/chat/v1/SendMessageResponse.ts';
import type { Session as _genai_chat_v1_Session, Session__Output as _genai_chat_v1_Session__Output } from './genai/chat/v1/Session.ts';
import type { SessionCounts as _genai_chat_v1_SessionCounts, SessionCounts__Output as _genai_chat_v1_SessionCounts__Output } from './genai/chat/v1/SessionCounts.ts';
import type { ShareSessionRequest as _genai_chat_v1_ShareSessionRequest, ShareSessionRequest__Output as _genai_chat_v1_ShareSessionRequest__Output } from './genai/chat/v1/ShareSessionRequest.ts';
import type { ShareSessionResponse as _genai_chat_v1_ShareSessionResponse, ShareSessionResponse__Output as _genai_chat_v1_ShareSessionResponse__Output } from './genai/chat/v1/ShareSessionResponse.ts';
import type { StartEvent as _genai_chat_v1_StartEvent, StartEvent__Output as _genai_chat_v1_StartEvent__Output } from './genai/chat/v1/StartEvent.ts';
import type { StreamMessageRequest as _genai_chat_v1_StreamMessageRequest, StreamMessageRequest__Output as _genai_chat_v1_StreamMessageRequest__Output } from './genai/chat/v1/StreamMessageRequest.ts';
import type { StreamMessageResponse as _genai_chat_v1_StreamMessageResponse, StreamMessageResponse__Output as _genai_chat_v1_StreamMessageResponse__Output } from './genai/chat/v1/StreamMessageResponse.ts';
import type { Timings as _genai_chat_v1_Timings, Timings__Output as _genai_chat_v1_Timings__Output } from './genai/chat/v1/Timings.ts';
import type { TurnCounts as _genai_chat_v1_TurnCounts, TurnCounts__Output as _genai_chat_v1_TurnCounts__Output } from './genai/chat/v1/TurnCounts.ts';
import type { TypingEvent as _genai_chat_v1_TypingEvent, TypingEvent__Output as _genai_chat_v1_TypingEvent__Output } from './genai/chat/v1/TypingEvent.ts';
import type { Usage as _genai_chat_v1_Usage, Usage__Output as _genai_chat_v1_Usage__Output } from './genai/chat/v1/Usage.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  genai: {
    chat: {
      v1: {
        ActiveTotal: MessageTypeDefinition<_genai_chat_v1_ActiveTotal, _genai_chat_v1_ActiveTotal__Output>
        ByteCounts: MessageTypeDefinition<_genai_chat_v1_ByteCounts, _genai_chat_v1_ByteCounts__Output>
        CancelCommand: MessageTypeDefinition<_genai_chat_v1_CancelCommand, _genai_chat_v1_CancelCommand__Output>
        CancelReplyRequest: MessageTypeDefinition<_genai_chat_v1_CancelReplyRequest, _genai_chat_v1_CancelReplyRequest__Output>
        CancelReplyResponse: MessageTypeDefinition<_genai_chat_v1_CancelReplyResponse, _genai_chat_v1_CancelReplyResponse__Output>
        ChatRequest: MessageTypeDefinition<_genai_chat_v1_ChatRequest, _genai_chat_v1_ChatRequest__Output>
        ChatResponse: MessageTypeDefinition<_genai_chat_v1_ChatResponse, _genai_chat_v1_ChatResponse__Output>
        /**
         * The chat service. Every RPC that names a session answers NOT_FOUND for an unknown one.
         */
        ChatService: SubtypeConstructor<typeof grpc.Client, _genai_chat_v1_ChatServiceClient> & { service: _genai_chat_v1_ChatServiceDefinition }
        ClearHistoryRequest: MessageTypeDefinition<_genai_chat_v1_ClearHistoryRequest, _genai_chat_v1_ClearHistoryRequest__Output>
        ClearHistoryResponse: MessageTypeDefinition<_genai_chat_v1_ClearHistoryResponse, _genai_chat_v1_ClearHistoryResponse__Output>
        CreateSessionRequest: MessageTypeDefinition<_genai_chat_v1_CreateSessionRequest, _genai_chat_v1_CreateSessionRequest__Output>
        CreateSessionResponse: MessageTypeDefinition<_genai_chat_v1_CreateSessionResponse, _genai_chat_v1_CreateSessionResponse__Output>
        DeleteSessionRequest: MessageTypeDefinition<_genai_chat_v1_DeleteSessionRequest, _genai_chat_v1_DeleteSessionRequest__Output>
        DeleteSessionResponse: MessageTypeDefinition<_genai_chat_v1_DeleteSessionResponse, _genai_chat_v1_DeleteSessionResponse__Output>
        DeltaEvent: MessageTypeDefinition<_genai_chat_v1_DeltaEvent, _genai_chat_v1_DeltaEvent__Output>
        DoneEvent: MessageTypeDefinition<_genai_chat_v1_DoneEvent, _genai_chat_v1_DoneEvent__Output>
        Error: MessageTypeDefinition<_genai_chat_v1_Error, _genai_chat_v1_Error__Output>
        ErrorCounts: MessageTypeDefinition<_genai_chat_v1_ErrorCounts, _genai_chat_v1_ErrorCounts__Output>
        ErrorEvent: MessageTypeDefinition<_genai_chat_v1_ErrorEvent, _genai_chat_v1_ErrorEvent__Output>
        FinishReason: EnumTypeDefinition
        GetHistoryRequest: MessageTypeDefinition<_genai_chat_v1_GetHistoryRequest, _genai_chat_v1_GetHistoryRequest__Output>
        GetHistoryResponse: MessageTypeDefinition<_genai_chat_v1_GetHistoryResponse, _genai_chat_v1_GetHistoryResponse__Output>
        GetServerStatsRequest: MessageTypeDefinition<_genai_chat_v1_GetServerStatsRequest, _genai_chat_v1_GetServerStatsRequest__Output>
        GetServerStatsResponse: MessageTypeDefinition<_genai_chat_v1_GetServerStatsResponse, _genai_chat_v1_GetServerStatsResponse__Output>
        GetSessionRequest: MessageTypeDefinition<_genai_chat_v1_GetSessionRequest, _genai_chat_v1_GetSessionRequest__Output>
        GetSessionResponse: MessageTypeDefinition<_genai_chat_v1_GetSessionResponse, _genai_chat_v1_GetSessionResponse__Output>
        Latencies: MessageTypeDefinition<_genai_chat_v1_Latencies, _genai_chat_v1_Latencies__Output>
        LatencySummary: MessageTypeDefinition<_genai_chat_v1_LatencySummary, _genai_chat_v1_LatencySummary__Output>
        ListSessionsRequest: MessageTypeDefinition<_genai_chat_v1_ListSessionsRequest, _genai_chat_v1_ListSessionsRequest__Output>
        ListSessionsResponse: MessageTypeDefinition<_genai_chat_v1_ListSessionsResponse, _genai_chat_v1_ListSessionsResponse__Output>
        Message: MessageTypeDefinition<_genai_chat_v1_Message, _genai_chat_v1_Message__Output>
        ModelInfo: MessageTypeDefinition<_genai_chat_v1_ModelInfo, _genai_chat_v1_ModelInfo__Output>
        Ping: MessageTypeDefinition<_genai_chat_v1_Ping, _genai_chat_v1_Ping__Output>
        Pong: MessageTypeDefinition<_genai_chat_v1_Pong, _genai_chat_v1_Pong__Output>
        ResetEvent: MessageTypeDefinition<_genai_chat_v1_ResetEvent, _genai_chat_v1_ResetEvent__Output>
        ResumeStreamRequest: MessageTypeDefinition<_genai_chat_v1_ResumeStreamRequest, _genai_chat_v1_ResumeStreamRequest__Output>
        ResumeStreamResponse: MessageTypeDefinition<_genai_chat_v1_ResumeStreamResponse, _genai_chat_v1_ResumeStreamResponse__Output>
        Role: EnumTypeDefinition
        SendCommand: MessageTypeDefinition<_genai_chat_v1_SendCommand, _genai_chat_v1_SendCommand__Output>
        SendMessageRequest: MessageTypeDefinition<_genai_chat_v1_SendMessageRequest, _genai_chat_v1_SendMessageRequest__Output>
        SendMessageResponse: MessageTypeDefinition<_genai_chat_v1_SendMessageResponse, _genai_chat_v1_SendMessageResponse__Output>
        Session: MessageTypeDefinition<_genai_chat_v1_Session, _genai_chat_v1_Session__Output>
        SessionCounts: MessageTypeDefinition<_genai_chat_v1_SessionCounts, _genai_chat_v1_SessionCounts__Output>
        ShareSessionRequest: MessageTypeDefinition<_genai_chat_v1_ShareSessionRequest, _genai_chat_v1_ShareSessionRequest__Output>
        ShareSessionResponse: MessageTypeDefinition<_genai_chat_v1_ShareSessionResponse, _genai_chat_v1_ShareSessionResponse__Output>
        StartEvent: MessageTypeDefinition<_genai_chat_v1_StartEvent, _genai_chat_v1_StartEvent__Output>
        StreamMessageRequest: MessageTypeDefinition<_genai_chat_v1_StreamMessageRequest, _genai_chat_v1_StreamMessageRequest__Output>
        StreamMessageResponse: MessageTypeDefinition<_genai_chat_v1_StreamMessageResponse, _genai_chat_v1_StreamMessageResponse__Output>
        Timings: MessageTypeDefinition<_genai_chat_v1_Timings, _genai_chat_v1_Timings__Output>
        TurnCounts: MessageTypeDefinition<_genai_chat_v1_TurnCounts, _genai_chat_v1_TurnCounts__Output>
        TypingEvent: MessageTypeDefinition<_genai_chat_v1_TypingEvent, _genai_chat_v1_TypingEvent__Output>
        Usage: MessageTypeDefinition<_genai_chat_v1_Usage, _genai_chat_v1_Usage__Output>
      }
    }
  }
}

