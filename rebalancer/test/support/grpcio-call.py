# A unary call with Python's grpcio over TLS, the way a Python operator's tool would make it.
# No generated stubs: the request and response travel as raw protobuf bytes (hex on the command
# line and on stdout) so the test decodes them with the project's own schemas.
# Usage: grpcio-call.py <host:port> <ca file> <method path> <request hex> [bearer key]
import sys

import grpc

target, ca_file, method, request_hex = sys.argv[1:5]
key = sys.argv[5] if len(sys.argv) > 5 else None
with open(ca_file, "rb") as f:
    credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
# The test certificates name localhost; the target is a loopback address.
options = [("grpc.ssl_target_name_override", "localhost")]
with grpc.secure_channel(target, credentials, options) as channel:
    call = channel.unary_unary(method)
    metadata = [("authorization", f"Bearer {key}")] if key else None
    try:
        answer = call(bytes.fromhex(request_hex), metadata=metadata, timeout=15)
    except grpc.RpcError as error:
        print(f"error {error.code().name} {error.details()}")
        sys.exit(3)
    print(answer.hex())
