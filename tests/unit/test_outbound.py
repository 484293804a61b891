"""The one outbound HTTP transport, against real sockets on 127.0.0.1: what comes back as an
answer, what as Unreachable, and what the other side sees of a SigV4 signature."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.credentials import Credentials

from functions.outbound import Answer, SigV4, Transport, Unreachable
from tests.support.appsync_standin import appsync_standin
from tests.support.postgres import free_port

REGION = "eu-west-1"
ORDER_UPDATE = {"query": "mutation { publishOrderUpdate }", "variables": {"order": {"id": "o-1"}}}

# (status, headers, body) for a path; the server records every path it was asked for.
Route = tuple[int, dict[str, str], bytes]


@contextmanager
def server(routes: dict[str, Route], delay: float = 0.0) -> Iterator[tuple[str, list[str]]]:
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            asked.append(self.path)
            self.rfile.read(int(self.headers.get("content-length") or 0))
            time.sleep(delay)
            status, headers, body = routes.get(self.path, (404, {}, b""))
            self.send_response(status)
            for name, value in {**headers, "content-length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            with suppress(ConnectionError):  # a client that gave up has hung up
                self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", asked
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (408, True), (404, False), (402, False)],
)
def test_an_error_status_is_an_answer_and_says_whether_a_retry_may_help(
    status: int, retryable: bool
) -> None:
    # Given a server that refuses with ``status`` and a body saying why
    with server({"/v1/x": (status, {}, b'{"reason": "no"}')}) as (url, _):
        # When it is called
        answer = Transport(2).send("GET", f"{url}/v1/x")
    # Then the status and body come back for the caller to judge, not an exception
    assert (answer.status, answer.json()) == (status, {"reason": "no"})
    assert answer.retryable is retryable


def test_a_redirect_is_an_answer_never_followed() -> None:
    # Given a server that redirects a write elsewhere
    routes: dict[str, Route] = {
        "/internal/orders": (307, {"location": "/elsewhere"}, b""),
        "/elsewhere": (202, {}, b"{}"),
    }
    with server(routes) as (url, asked):
        # When a (signed) write is sent
        answer = Transport(2).post_json(f"{url}/internal/orders", {"orderId": "o-1"})
    # Then the client sees the redirect, and nothing went to the other URL
    assert answer.status == 307
    assert asked == ["/internal/orders"]


def test_nothing_listening_is_unreachable_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1/authorizations"
    with pytest.raises(Unreachable, match=f"POST {url}"):
        Transport(2).post_json(url, {})


def test_a_server_slower_than_the_timeout_is_unreachable_quickly() -> None:
    # Given a server that answers after 1.5 s and a client that waits 0.3 s
    with server({"/slow": (200, {}, b"{}")}, delay=1.5) as (url, _):
        started = time.monotonic()
        # When it is called / Then it gives up, saying so, long before the answer
        with pytest.raises(Unreachable, match="no answer within the timeout"):
            Transport(0.3).send("GET", f"{url}/slow")
        assert time.monotonic() - started < 1


def test_a_json_answer_reads_an_empty_body_as_an_empty_object() -> None:
    assert Answer(204, b"").json() == {}
    with pytest.raises(ValueError):
        Answer(200, b"<html>busy</html>").json()


def test_a_signed_request_verifies_at_the_other_end() -> None:
    # Given an endpoint that recomputes SigV4 signatures (as AppSync does)
    credentials = Credentials("AKIDEXAMPLE", "secret")
    with appsync_standin(credentials, REGION) as stand_in:
        # When a request is signed for its service and region
        signer = SigV4("appsync", REGION, lambda: credentials)
        answer = Transport(2).post_json(stand_in.url, ORDER_UPDATE, sign=signer)
    # Then the endpoint accepts the signature over that exact body
    assert answer.status == 200
    assert stand_in.received[0]["signatureValid"] is True


def test_a_request_signed_with_a_session_token_carries_it() -> None:
    # Given the temporary credentials a Lambda role has
    credentials = Credentials("ASIAEXAMPLE", "secret", "the-session-token")
    with appsync_standin(credentials, REGION) as stand_in:
        Transport(2).post_json(
            stand_in.url, ORDER_UPDATE, sign=SigV4("appsync", REGION, lambda: credentials)
        )
    # Then the token travels with the signature, which still verifies
    [received] = stand_in.received
    assert received["headers"]["x-amz-security-token"] == "the-session-token"
    assert received["signatureValid"] is True


def test_each_request_is_signed_with_the_credentials_current_then() -> None:
    # Given credentials that rotate between two requests
    keys = iter(["AKIDFIRST", "AKIDSECOND"])
    current: Callable[[], Credentials] = lambda: Credentials(next(keys), "secret")  # noqa: E731
    signer = SigV4("execute-api", REGION, current)
    # When two requests are signed
    first = signer.headers("POST", "https://primary.example/internal/orders", {}, b"{}")
    second = signer.headers("POST", "https://primary.example/internal/orders", {}, b"{}")
    # Then each names the key of its moment, for this region and service
    assert "Credential=AKIDFIRST/" in first["Authorization"]
    assert "Credential=AKIDSECOND/" in second["Authorization"]
    assert f"/{REGION}/execute-api/aws4_request" in second["Authorization"]
