"""grpc.health.v1.Health/Check over TLS from Python grpcio, trusting one CA file.

Usage: python3 tls_health.py HOST:PORT CA_FILE. No generated code: the request is the empty
HealthCheckRequest (zero bytes) and the answer's field 1 is the status enum (1 = SERVING), so
the script depends on nothing but grpcio. Prints {"status": ...} or {"error": <status code>}.
"""
import json
import sys

import grpc

STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def main():
    target, ca_file = sys.argv[1], sys.argv[2]
    with open(ca_file, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    with grpc.secure_channel(target, credentials) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        try:
            answer = check(b"", timeout=10)
        except grpc.RpcError as error:
            print(json.dumps({"error": error.code().name}))
            return
        # b"" (UNKNOWN is the default, so omitted) or b"\x08" + varint status.
        status = answer[1] if len(answer) >= 2 and answer[0] == 0x08 else 0
        print(json.dumps({"status": STATUS.get(status, str(status))}))


if __name__ == "__main__":
    main()
