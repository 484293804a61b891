"""Typed readers of the Lambda environment: what every function's settings module parses with.

Lambda passes every variable as a string, and a deploy can leave one unset, empty or
mistyped. Each reader turns one variable into the type its settings field has, or raises
:class:`SettingsError` with a message that names the variable and says what it should be,
so a broken deploy fails at the first request with the fix in its log line.

An empty value counts as unset: the infra writes ``""`` for an optional value it does not
have, and a required one that is empty is as missing as an absent one.

Pure Python: no AWS import, so a settings module costs nothing at cold start.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping


class SettingsError(RuntimeError):
    """An environment variable is missing or malformed; the message names it."""


class Env:
    """One environment (``os.environ`` on Lambda, a dict in tests), read variable by variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def optional(self, name: str) -> str | None:
        """The value with surrounding blanks removed, or None when unset or empty."""
        return self._env.get(name, "").strip() or None

    def required(self, name: str, alternative: str | None = None) -> str:
        """The value; SettingsError when unset or empty (``alternative``: what else would do)."""
        value = self.optional(name)
        if value is None:
            instead = f" (or set {alternative})" if alternative else ""
            raise SettingsError(f"environment variable {name} is required{instead}")
        return value

    def choice(self, name: str, allowed: Collection[str], default: str) -> str:
        """One of ``allowed`` (compared in lower case); ``default`` when unset."""
        raw = self.optional(name)
        if raw is None:
            return default
        value = raw.lower()
        if value not in allowed:
            expected = " or ".join(repr(a) for a in sorted(allowed))
            raise SettingsError(f"environment variable {name} must be {expected}, got {raw!r}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        """``true`` or ``false`` (any case); ``default`` when unset. Nothing else is guessed."""
        return self.choice(name, ("true", "false"), "true" if default else "false") == "true"

    def integer(
        self, name: str, default: int, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        """A whole number within ``[minimum, maximum]``; ``default`` when unset."""
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(
                f"environment variable {name} must be a whole number, got {raw!r}"
            ) from None
        _check_bounds(name, raw, value, minimum, maximum)
        return value

    def seconds(self, name: str, default: float) -> float:
        """A positive duration in seconds (fractions allowed); ``default`` when unset."""
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(
                f"environment variable {name} must be a number, got {raw!r}"
            ) from None
        # nan and inf parse as floats, and no timeout or cache can be either.
        if not 0 < value < float("inf"):
            raise SettingsError(f"environment variable {name} must be positive, got {raw!r}")
        return value


def _check_bounds(
    name: str, raw: str, value: float, minimum: float | None, maximum: float | None
) -> None:
    if minimum is not None and value < minimum:
        raise SettingsError(f"environment variable {name} must be at least {minimum}, got {raw!r}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"environment variable {name} must be at most {maximum}, got {raw!r}")
