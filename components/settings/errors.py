"""The one error every stack file mistake becomes: the file, the line where known, the key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PROJECT = "active-active"


def shown_key(key: str) -> str:
    """A key as it is written in the stack file: project keys carry the project's prefix."""
    if not key or ":" in key.split(".", 1)[0]:
        return key
    return f"{PROJECT}:{key}"


class ConfigError(ValueError):
    """Bad stack configuration; the message names the stack file, the line where known, the key,
    what is wrong and what would be right.

    ``key`` is the key without the project's prefix (``database.engineVersion``), a namespaced
    key as written (``aws:region``), or empty when the file as a whole is wrong. Further
    mistakes found in the same pass are listed after the first, each with its own file and key.
    """

    def __init__(
        self,
        stack: str,
        key: str,
        problem: str,
        *,
        line: int | None = None,
        also: Sequence[ConfigError] = (),
    ):
        self.stack = stack
        self.key = key
        self.problem = problem
        self.line = line
        self.also = tuple(also)
        super().__init__("\n".join(e.one_line() for e in (self, *self.also)))

    def one_line(self) -> str:
        """This mistake alone, as ``Pulumi.<stack>.yaml:<line>: <key>: <problem>``."""
        where = f"Pulumi.{self.stack}.yaml" + (f":{self.line}" if self.line else "")
        key = shown_key(self.key)
        return f"{where}: {key}: {self.problem}" if key else f"{where}: {self.problem}"

    def located(self, lines: Mapping[str, int] | None) -> ConfigError:
        """The same error with the line its key is written on, when ``lines`` knows it.

        A key that is not written (a missing one) is looked up by its parent mapping.
        """
        if self.line is not None or not lines:
            return self
        line = None
        parts = self.key.split(".")
        while parts and line is None:
            line = lines.get(".".join(parts))
            parts.pop()
        return ConfigError(self.stack, self.key, self.problem, line=line, also=self.also)

    @classmethod
    def of(cls, errors: Sequence[ConfigError]) -> ConfigError:
        """One error for several mistakes: the first, with the others after it."""
        first, *rest = errors
        return cls(first.stack, first.key, first.problem, line=first.line, also=rest)
