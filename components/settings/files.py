"""Reading one ``Pulumi.<stack>.yaml``: its config, and the line each key is written on.

YAML is read as Pulumi reads it (YAML 1.2 booleans: ``yes``, ``no``, ``on`` and ``off`` are
strings, not booleans), a key written twice is refused as Pulumi refuses it, and every mistake
of the file's shape (bad YAML, a key outside ``config:``, a key with no namespace) is a
``ConfigError`` with the file and the line.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml

from components.settings.errors import PROJECT, ConfigError

# The top-level keys of a stack file Pulumi reads (`pulumi config`, secrets, ESC environments).
DOCUMENT_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"


class _StackFileLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's booleans and decimal integers, as Pulumi's parser
    has them: YAML 1.1 reads ``yes`` as true and ``017`` as 15."""


_StackFileLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _INT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StackFileLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StackFileLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_StackFileLoader.add_constructor(
    _INT,
    lambda loader, node: int(loader.construct_scalar(node)),
)


class StackValues(dict[str, Any]):
    """One stack file's config: project keys without their prefix, other keys as written.

    ``lines`` says where each key is written (``database.engineVersion``, list items as
    ``peerStacks.0``); ``texts`` holds each scalar as written, so that a message can quote
    ``16.10`` where YAML read the number 16.1.
    """

    def __init__(self, values: dict[str, Any], lines: dict[str, int], texts: dict[str, str]):
        super().__init__(values)
        self.lines = lines
        self.texts = texts


def read_stack_file(stack: str, path: Path) -> StackValues:
    """The config of one stack file, keys without the project prefix, with where each is."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(stack, "", f"not UTF-8 text ({error.reason}); save it as UTF-8") from None
    loader = _StackFileLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        raise _yaml_error(stack, text, error) from None
    finally:
        loader.dispose()
    if document is None:
        raise ConfigError(
            stack,
            "",
            "the file is empty: a stack file holds config: with at least aws:region, "
            f"{PROJECT}:role and {PROJECT}:vpcCidr",
        )
    if not isinstance(document, dict) or not isinstance(node, yaml.MappingNode):
        raise ConfigError(stack, "", "must be a YAML mapping with config: at its top", line=1)
    _refuse_repeats(stack, node)
    for key_node, _ in node.value:
        key = key_node.value
        if key not in DOCUMENT_KEYS:
            raise ConfigError(stack, "", _top_level_problem(key), line=key_node.start_mark.line + 1)
    config_node = next((v for k, v in node.value if k.value == "config"), None)
    config = document.get("config")
    if config is None:
        return StackValues({}, {}, {})
    if not isinstance(config, dict) or not isinstance(config_node, yaml.MappingNode):
        line = config_node.start_mark.line + 1 if config_node is not None else None
        raise ConfigError(stack, "", "config: must be a mapping of keys to values", line=line)
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    texts: dict[str, str] = {}
    prefix = f"{PROJECT}:"
    constructed = {str(k): v for k, v in config.items()}
    for key_node, value_node in config_node.value:
        written = key_node.value
        line = key_node.start_mark.line + 1
        if not isinstance(written, str) or ":" not in written or written not in constructed:
            raise ConfigError(
                stack,
                "",
                f"config key {written!r} has no namespace: write {prefix}{written} (Pulumi "
                "reads config keys as <namespace>:<name>)",
                line=line,
            )
        key = written[len(prefix) :] if written.startswith(prefix) else written
        values[key] = constructed[written]
        lines[key] = line
        _map_node(key, value_node, lines, texts)
    return StackValues(values, lines, texts)


def _map_node(key: str, node: yaml.Node, lines: dict[str, int], texts: dict[str, str]) -> None:
    """Record where each nested key and list item is written, and each scalar's text."""
    if isinstance(node, yaml.ScalarNode):
        texts[key] = node.value
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            nested = f"{key}.{key_node.value}"
            lines[nested] = key_node.start_mark.line + 1
            _map_node(nested, value_node, lines, texts)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            nested = f"{key}.{index}"
            lines[nested] = item.start_mark.line + 1
            _map_node(nested, item, lines, texts)


def _refuse_repeats(stack: str, node: yaml.Node, path: str = "") -> None:
    """Pulumi refuses a mapping that names a key twice; PyYAML would keep the last silently."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            name = key_node.value
            if name in seen:
                raise ConfigError(
                    stack,
                    "",
                    f"{path}{name} is written twice (lines {seen[name]} and {line}); Pulumi "
                    "refuses a key written twice: keep one",
                    line=line,
                )
            seen[name] = line
            _refuse_repeats(stack, value_node, f"{path}{name}." if path or name != "config" else "")
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_repeats(stack, item, path)


def _top_level_problem(key: Any) -> str:
    known = ", ".join(DOCUMENT_KEYS)
    if isinstance(key, str) and ":" in key:
        return f"{key} is a config key: indent it under config: (Pulumi reads only {known} here)"
    close = difflib.get_close_matches(str(key), DOCUMENT_KEYS, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"unknown top-level key {key!r}: Pulumi reads only {known}{hint}"


# What the parser's words usually mean in a stack file, and what to do about it.
_YAML_ADVICE = (
    ("'\\t'", "; indent with spaces, not tabs"),
    ("expected <block end>", "; this line is indented differently from the keys around it"),
    ("mapping values are not allowed", "; a value holds ': ': quote it, or fix the indentation"),
    ("could not find expected ':'", "; a key needs ': ' and a value, or a quote is not closed"),
    ("expected ',' or ']'", "; a [ list is not closed on its line"),
    ("expected ',' or '}'", "; a { mapping is not closed on its line"),
    ("found unexpected end of stream", "; a quote is not closed"),
)


def _yaml_error(stack: str, text: str, error: yaml.YAMLError) -> ConfigError:
    """A YAML parser error as one line: where, what, and the line as written."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    what = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    detail = f"{context}, {what}" if context else what
    hint = next((advice for words, advice in _YAML_ADVICE if words in detail), "")
    written = ""
    if line is not None and 0 < line <= len(text.splitlines()):
        written = f": {text.splitlines()[line - 1].strip()!r}"
    column = f", column {mark.column + 1}" if mark is not None else ""
    return ConfigError(stack, "", f"not valid YAML{column}: {detail}{hint}{written}", line=line)
