"""A Python client generated from proto/ alone holds a two-turn conversation and reads rich errors.

Usage: python3 two_turns.py HOST:PORT LIMITED_HOST:PORT   (genai/chat/v1/chat_pb2(_grpc) and
google/rpc/{status,error_details}_pb2 on PYTHONPATH, made by protoc --python_out --grpc_out with
grpc_python_plugin). The second server allows one call per window (RATE_LIMIT_MAX=1): its refusal
carries a google.rpc.Status in grpc-status-details-bin, decoded here with the protobuf runtime
(Debian has no grpcio-status). Prints one JSON line with what it saw.
"""
import json
import sys

import grpc

from genai.chat.v1 import chat_pb2, chat_pb2_grpc
from google.rpc import error_details_pb2, status_pb2


def stream_reply(stub, session_id, text):
    """StreamMessage: fold the ChatEvents, checking the oneof tells start, deltas and done apart."""
    kinds, reply, finish = [], "", None
    for event in stub.StreamMessage(chat_pb2.StreamMessageRequest(session_id=session_id, text=text), timeout=10):
        kind = event.WhichOneof("event")
        kinds.append(kind)
        if kind == "delta":
            reply += event.delta.text
        elif kind == "done":
            finish = chat_pb2.FinishReason.Name(event.done.finish_reason)
        elif kind == "error":
            raise RuntimeError(event.error.error.message)
    return {"first": kinds[0], "last": kinds[-1], "finish": finish, "text": reply}


def rich_error(target):
    """Two calls to a server that allows one: the refusal's ErrorInfo and RetryInfo."""
    with grpc.insecure_channel(target) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        try:
            for _ in range(2):
                stub.CreateSession(chat_pb2.CreateSessionRequest(), timeout=5)
            return {"status": "OK"}
        except grpc.RpcError as error:
            trailers = dict(error.trailing_metadata() or ())
            status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
            seen = {"status": error.code().name, "statusCode": status.code}
            for detail in status.details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    seen["reason"], seen["domain"], seen["code"] = info.reason, info.domain, info.metadata["code"]
                elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                    retry = error_details_pb2.RetryInfo()
                    detail.Unpack(retry)
                    seen["retryDelaySeconds"] = retry.retry_delay.seconds
            return seen


def main():
    with grpc.insecure_channel(sys.argv[1]) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        session = stub.CreateSession(chat_pb2.CreateSessionRequest(), timeout=5)
        session = session.session
        first = stream_reply(stub, session.id, "My name is Ada.")
        second = stream_reply(stub, session.id, "What is my name?")
        history = stub.GetHistory(chat_pb2.GetHistoryRequest(session_id=session.id), timeout=5)
        try:
            stub.GetSession(chat_pb2.GetSessionRequest(session_id="no-such-session"), timeout=5)
            missing = "OK"
        except grpc.RpcError as error:
            missing = error.code().name
        print(json.dumps({
            "session": session.id,
            "turns": [first, second],
            "history": [[chat_pb2.Role.Name(m.role), m.text] for m in history.messages],
            "missing": missing,
            "rateLimited": rich_error(sys.argv[2]),
        }))


if __name__ == "__main__":
    main()
