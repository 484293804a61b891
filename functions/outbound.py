"""The one way the functions call out over HTTP: one timeout, one way to sign, one error.

Used by the write path's forwarder (SigV4 to a primary's internal route), the saga's payment
provider and CRM, and the notifier's AppSync publisher (SigV4). Each adapter maps what comes
back to its own domain errors; the transport only says which of two things happened:

- an answer came: any HTTP status is an :class:`Answer`, a 4xx or 5xx included, because what
  a status means (a decline, a refused key, a busy primary) is the caller's to say;
- none came (connection refused or reset, DNS, TLS, no answer within the timeout):
  :class:`Unreachable`, whose message names the method and URL.

A redirect is an answer too, never followed: a signed request goes only to the URL it was
signed for, and a provider that moved is reconfigured, not chased.

Standard library only at import; botocore (in the Lambda runtime) is imported to sign.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Statuses that say "not now" rather than "no": worth the same request again later.
_RETRYABLE = frozenset({408, 429})


def retryable(status: int) -> bool:
    """True for a status a retry of the same request may get past: 5xx, 408 and 429."""
    return status >= 500 or status in _RETRYABLE


class Unreachable(Exception):
    """No answer came: refused, reset, DNS, TLS, or nothing within the timeout."""


@dataclass(frozen=True)
class Answer:
    """What the other side answered: its status and its body."""

    status: int
    body: bytes

    @property
    def retryable(self) -> bool:
        """True when a retry of the same request may get another answer (see :func:`retryable`)."""
        return retryable(self.status)

    def json(self) -> Any:
        """The body as JSON, an empty body as ``{}`` (a 204); ValueError when it is not JSON."""
        # RecursionError: arrays nested deeper than the parser's recursion limit.
        try:
            return json.loads(self.body or b"{}")
        except RecursionError:
            raise ValueError("the answer is nested too deeply to read") from None


class SigV4:
    """Signs requests for one AWS service in one region (``execute-api``, ``appsync``, ...).

    ``credentials`` returns botocore credentials (``boto3.Session().get_credentials``); it is
    called for every request, and refreshable credentials are frozen once per signature, so
    a rotation never mixes the key of one with the token of another.
    """

    def __init__(self, service: str, region: str, credentials: Callable[[], Any]) -> None:
        self.service = service
        self.region = region
        self._credentials = credentials

    def headers(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> dict[str, str]:
        """``headers`` with the signature's (``authorization``, ``x-amz-date``, token) added."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = self._credentials()
        frozen = getattr(credentials, "get_frozen_credentials", None)
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        SigV4Auth(frozen() if frozen else credentials, self.service, self.region).add_auth(request)
        return dict(request.headers.items())


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        # Follow nothing: urllib then raises the 3xx as an HTTPError, which is an answer.
        return None


class Transport:
    """Sends one request and returns the answer, waiting at most ``timeout_seconds`` for the
    connection and for each read."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self._opener = urllib.request.build_opener(_NoRedirects())

    def send(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        sign: SigV4 | None = None,
    ) -> Answer:
        """The answer to one request, signed when ``sign`` is given; Unreachable if none."""
        all_headers = {name.lower(): value for name, value in (headers or {}).items()}
        if sign is not None:
            all_headers = sign.headers(method, url, all_headers, body)
        request = urllib.request.Request(url, data=body, method=method, headers=all_headers)
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as answer:
                return Answer(answer.status, answer.read())
        except urllib.error.HTTPError as answer:
            try:
                return Answer(answer.code, answer.read())
            except (OSError, http.client.HTTPException) as exc:
                raise Unreachable(f"{method} {url}: the answer broke off: {exc}") from exc
        # URLError, timeouts, resets and TLS failures are all OSError; a malformed status
        # line or a body cut short is an HTTPException.
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(f"{method} {url}: {_reason(exc)}") from exc

    def post_json(
        self,
        url: str,
        payload: Any,
        headers: Mapping[str, str] | None = None,
        sign: SigV4 | None = None,
    ) -> Answer:
        """POST ``payload`` as JSON (``content-type: application/json``)."""
        body = json.dumps(payload).encode()
        return self.send(
            "POST", url, body, {"content-type": "application/json", **(headers or {})}, sign
        )


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # URLError wraps the socket's error
    if isinstance(reason, BaseException):
        exc = reason
    if isinstance(exc, TimeoutError):
        return "no answer within the timeout"
    return str(exc) or type(exc).__name__
