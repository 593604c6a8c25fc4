"""A Python client generated from proto/chat.proto alone holds a two-turn conversation.

Usage: python3 two_turns.py HOST:PORT   (chat_pb2 and chat_pb2_grpc on PYTHONPATH, made by
protoc --python_out --grpc_out with grpc_python_plugin). Prints one JSON line with what it saw.
"""
import json
import sys

import grpc

import chat_pb2
import chat_pb2_grpc


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


def main():
    with grpc.insecure_channel(sys.argv[1]) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        session = stub.CreateSession(chat_pb2.CreateSessionRequest(), timeout=5)
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
        }))


if __name__ == "__main__":
    main()
