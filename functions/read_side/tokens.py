"""Opaque page tokens that only the customer they were issued for can use.

A token carries the sort key where the next page starts, MAC'ed with HMAC-SHA256 over the
customer id as well: a client can neither edit the position nor replay the token against
another customer's partition. Every region must hold the same key (one replicated secret),
because latency routing may send the next page's request to another region.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from functions.read_side.errors import InvalidInput

_VERSION = b"v1"
MAX_TOKEN_LENGTH = 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Issues and checks page tokens with one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the page token key must be at least 16 bytes")
        self._key = key

    def _mac(self, customer_id: str, position: bytes) -> bytes:
        message = b"\x00".join((_VERSION, customer_id.encode("utf-8"), position))
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def issue(self, customer_id: str, position: str) -> str:
        """A token for the page of ``customer_id`` that starts after sort key ``position``."""
        raw = position.encode("utf-8")
        return f"{_b64(raw)}.{_b64(self._mac(customer_id, raw))}"

    def position(self, customer_id: str, token: str) -> str:
        """The sort key a token issued for ``customer_id`` points at, or :class:`InvalidInput`."""
        invalid = InvalidInput(
            "nextToken is not a token this API issued for this customer", "nextToken"
        )
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or token.count(".") != 1:
            raise invalid
        body, mac = token.split(".")
        try:
            raw, given = _unb64(body), _unb64(mac)
        except (binascii.Error, ValueError):
            raise invalid from None
        if not hmac.compare_digest(given, self._mac(customer_id, raw)):
            raise invalid
        return raw.decode("utf-8")
