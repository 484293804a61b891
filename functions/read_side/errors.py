"""Errors of the read side, each with the HTTP status and error code a client sees."""

from __future__ import annotations

from functions import api_error


class ReadError(Exception):
    """A read that cannot be answered; carries what the error body says."""

    status = 500
    code = "INTERNAL"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> api_error.ErrorBody:
        """The error as the API returns it (:mod:`functions.api_error`)."""
        return api_error.body(self.code, self.message, self.field)


class InvalidInput(ReadError):
    """A path parameter, query parameter or token the API does not accept."""

    status = 400
    code = "INVALID_INPUT"


class NotFound(ReadError):
    """No order with that id, or no such route."""

    status = 404
    code = "NOT_FOUND"


class Unavailable(ReadError):
    """The local table could not be read right now; the client may retry."""

    status = 503
    code = "UNAVAILABLE"


class CorruptView(ReadError):
    """A stored view does not have the shape the API promises; a bug, never an input."""

    status = 500
    code = "INTERNAL"
