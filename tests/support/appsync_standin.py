"""A stand-in for an AppSync endpoint on 127.0.0.1 that checks SigV4 signatures for real.

It recomputes the signature of every request it receives from the headers the client says
it signed, so a request whose body, host or date differs from what was signed is refused
with 403, as AppSync would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


@dataclass
class StandIn:
    """What the stand-in saw, and what it answers."""

    url: str
    credentials: Credentials
    region: str
    received: list[dict[str, Any]] = field(default_factory=list)
    answer: dict[str, Any] | None = None  # None: echo the mutation's order as its result
    refuse_next: int = 0  # answer this many validly signed requests with HTTP 500 first

    def accepted(self) -> list[dict[str, Any]]:
        """The requests answered with the mutation's data: what subscribers received."""
        return [call for call in self.received if call["accepted"]]


def signature_is_valid(stand_in: StandIn, path: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether the Authorization header is a SigV4 signature for service appsync over this request."""
    authorization = headers.get("authorization", "")
    prefix = "AWS4-HMAC-SHA256 "
    if not authorization.startswith(prefix):
        return False
    parts = dict(p.strip().split("=", 1) for p in authorization[len(prefix) :].split(","))
    scope = parts.get("Credential", "").split("/")
    if (
        len(scope) != 5
        or scope[0] != stand_in.credentials.access_key
        or scope[2:] != [stand_in.region, "appsync", "aws4_request"]
    ):
        return False
    signed = parts.get("SignedHeaders", "").split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return False
    request = AWSRequest(
        method="POST",
        url=f"http://{headers['host']}{path}",
        data=body,
        headers={name: headers[name] for name in signed if name in headers},
    )
    request.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(stand_in.credentials, "appsync", stand_in.region)
    expected = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    return expected == parts.get("Signature")


@contextmanager
def appsync_standin(credentials: Credentials, region: str) -> Iterator[StandIn]:
    """Serve the stand-in on a free port for the duration of the block."""
    state: StandIn

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            valid = signature_is_valid(state, self.path, headers, body)
            accepted = False
            if not valid:
                payload, status = {"errors": [{"errorType": "UnauthorizedException"}]}, 403
            elif state.refuse_next > 0:
                state.refuse_next -= 1
                payload, status = {"errors": [{"errorType": "InternalFailure"}]}, 500
            elif state.answer is not None:
                payload, status = state.answer, 200
            else:
                order = json.loads(body)["variables"]["order"]
                payload, status = {"data": {"publishOrderUpdate": order}}, 200
                accepted = True
            state.received.append(
                {
                    "headers": headers,
                    "body": json.loads(body),
                    "signatureValid": valid,
                    "accepted": accepted,
                }
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = StandIn(f"http://127.0.0.1:{server.server_address[1]}/graphql", credentials, region)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
