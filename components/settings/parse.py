"""From the raw values of one stack file to ``Settings``, or to the mistakes it holds.

The offline plan reads the values from the stack files (``read_stack_file``, with the line of
each key); the Pulumi program reads them from ``pulumi.Config`` (``load_settings``). Both go
through ``parse_settings``, so a file refused by one is refused by the other.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pulumi
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from components.settings import aws, schema
from components.settings.deployment import check_deployment
from components.settings.errors import PROJECT, ConfigError
from components.settings.files import StackValues, read_stack_file
from components.settings.model import Settings, StackConfig
from components.settings.values import stack_name_problem

DEFAULT_ORGANIZATION = "organization"

# Set by `ops up` on the home stack's first pass to the replica stacks that do not exist yet
# (comma-separated short names): a StackReference to a stack that does not exist fails and
# cannot be caught (pulumi/pulumi#3540). Only those are left out; replication to the replica
# stacks that exist is kept on every pass, so adding a region never drops it for the others.
MISSING_STACKS_ENV = "ACTIVE_ACTIVE_MISSING_STACKS"

# Words of stack files written before ownership and writing were told apart: each one names
# its replacement, so an old file is refused with what to write instead.
OLD_WORDS = {
    ("role", "primary"): ("role", "home"),
    ("role", "secondary"): ("role", "member"),
    ("primaryStack", None): ("homeStack", None),
}
# Namespaces a stack file may use besides the project's: the aws provider's, and Pulumi's own.
NAMESPACES = ("aws", "pulumi")
REFERENCE_KEYS = ("homeStack", "peerStacks", "replicaStacks")


class ConfigRunError(ConfigError, pulumi.RunError):
    """A ConfigError in the Pulumi program: Pulumi shows a RunError's message, no traceback."""


def short_name(stack: str) -> str:
    """The stack file's name for a stack: the last part of a fully qualified name."""
    return stack.rsplit("/", 1)[-1]


def qualified_name(stack: str, organization: str = DEFAULT_ORGANIZATION) -> str:
    """The fully qualified name a StackReference needs (`organization/active-active/<stack>`)."""
    return stack if "/" in stack else f"{organization}/{PROJECT}/{stack}"


def parse_settings(
    stack: str,
    values: Mapping[str, Any],
    known_stacks: Iterable[str] | None = None,
) -> Settings:
    """Validate one stack's config (keys without the project prefix, ``aws:region`` and any
    other namespaced key as written).

    ``known_stacks`` are the stacks that have a file; when given, every referenced stack must
    be one of them. ``values`` read by ``read_stack_file`` carry the line of each key, which
    the error then names.
    """
    lines: Mapping[str, int] = getattr(values, "lines", {})
    try:
        settings = _parse(stack, values, known_stacks)
    except ConfigError as error:
        raise ConfigError.of([e.located(lines) for e in (error, *error.also)]) from None
    settings._lines = dict(lines)
    return settings


def _parse(stack: str, values: Mapping[str, Any], known_stacks: Iterable[str] | None) -> Settings:
    name_problem = stack_name_problem(stack)
    if name_problem is not None:
        raise ConfigError(stack, "", f"the file's name: {name_problem}")
    _refuse_old_words(stack, values)
    problems = [p for key in values if (p := _namespace_problem(stack, key)) is not None]
    texts: Mapping[str, str] = getattr(values, "texts", {})
    config = None
    try:
        config = StackConfig.model_validate(_as_declared(values))
    except ValidationError as error:
        problems += [_problem(stack, e, texts) for e in error.errors()]
    if problems or config is None:
        raise ConfigError.of(problems)
    settings = Settings.model_construct(stack=stack, **dict(config))
    _check_references(stack, settings, values, known_stacks)
    return settings


def _as_declared(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values to validate: unset keys dropped, top-level values as Pulumi reads them.

    Pulumi holds a top-level value as a string (`pulumi config set availabilityZones 3` writes
    "3"), and the program reads a non-string key as that string's JSON; a value inside a
    mapping keeps its YAML type.
    """
    declared: dict[str, Any] = {}
    for key, value in values.items():
        if ":" in key and key != "aws:region":
            continue
        if value is None or value == "":
            continue
        found = schema.key_at([key])
        if found is not None and isinstance(value, str) and not schema.is_text(found.field):
            # Not JSON: left as it is, to be refused by the declaration naming what it must be.
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        declared[key] = value
    return declared


def _namespace_problem(stack: str, key: str) -> ConfigError | None:
    """Why a namespaced key is not one this program reads, or None."""
    if ":" not in key:
        return None
    namespace, name = key.split(":", 1)
    if namespace == "aws":
        known = aws.provider_keys()
        if name in known:
            return None
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"; did you mean aws:{close[0]}?" if close else ""
        return ConfigError(
            stack, key, f"the aws provider (pulumi-aws) has no config key {name!r}{hint}"
        )
    if namespace in NAMESPACES:
        return None
    project_keys = schema.known_keys("")
    if name in project_keys:
        hint = f"; did you mean {PROJECT}:{name}?"
    else:
        close = difflib.get_close_matches(namespace, [PROJECT, *NAMESPACES], n=1)
        hint = f"; did you mean {close[0]}:{name}?" if close else ""
    return ConfigError(
        stack,
        key,
        f"unknown namespace {namespace!r}: this program reads {PROJECT}:, aws: and pulumi: "
        f"keys only{hint}",
    )


def _problem(stack: str, error: ErrorDetails, texts: Mapping[str, str]) -> ConfigError:
    """One validation error as a ConfigError naming the key, what is wrong and what is right."""
    loc = list(error["loc"])
    ctx = error.get("ctx") or {}
    if error["type"] == "config" and ctx.get("key"):
        loc += str(ctx["key"]).split(".")
    key = ".".join(str(p) for p in loc if isinstance(p, str))
    path = ".".join(str(p) for p in loc)
    declared = schema.key_at(loc)
    must = schema.says(declared, markdown=False) if declared is not None else None
    value = error.get("input")
    kind = error["type"]
    if kind == "config":
        message = str(ctx["message"])
    elif kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
    elif kind == "missing":
        what = declared.field.description if declared is not None else None
        message = "missing" + (f": {what}" if what else "") + (f"; write {must}" if must else "")
    elif kind == "extra_forbidden":
        parent = key.rpartition(".")[0]
        known = [k for k in schema.known_keys(parent) if ":" not in k]
        close = difflib.get_close_matches(key.rpartition(".")[2], known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        message = f"unknown key; {hint}known: {', '.join(known)}"
    elif kind == "string_type" and isinstance(value, bool | int | float):
        written = texts.get(path, _yaml(value))
        noun = "boolean" if isinstance(value, bool) else "number"
        message = (
            f"must be {must or 'a string'}; YAML reads {written} as the {noun} {_yaml(value)}: "
            f'write it in quotes, "{written}"'
        )
    elif declared is not None and declared.model is not None and not isinstance(value, dict):
        message = f"must be a mapping of {', '.join(schema.known_keys(key))}, not {_yaml(value)}"
    elif kind in ("tuple_type", "list_type"):
        message = f"must be a YAML list ({must}), not {_yaml(value)}"
    elif kind == "too_short":
        message = f"must list at least one item ({must})"
    elif kind in ("int_type", "float_type", "bool_type") and isinstance(value, str):
        unquoted = _json_kind(value) == kind
        message = f"must be {must}, not the string {value!r}" + (
            ": write it without quotes" if unquoted else ""
        )
    elif kind == "enum" and isinstance(value, str):
        message = f"{value!r} is not {must}"
    else:
        message = f"must be {must}, not {_yaml(value)}" if must else str(error["msg"])
    return ConfigError(stack, key, message)


def _json_kind(text: str) -> str | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, bool):
        return "bool_type"
    return {int: "int_type", float: "float_type"}.get(type(value))


def _yaml(value: Any) -> str:
    """A value as YAML writes it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else str(value)


def _refuse_old_words(stack: str, values: Mapping[str, Any]) -> None:
    """Stack files that still say primary/secondary: say what to write instead, and why."""
    for (key, old), (new_key, new) in OLD_WORDS.items():
        if key in values and (old is None or values[key] == old):
            was = f"{key}: {old}" if old else key
            now = f"{new_key}: {new}" if new else new_key
            raise ConfigError(
                stack,
                key,
                f"'{was}' is the old word; write '{now}'. The stack that owns the global "
                "resources is the home stack for good; which region writes is run-time state "
                "that `python -m ops failover` and `failback` change, never a stack file "
                "(docs/operations.md)",
            )


def _check_references(
    stack: str, settings: Settings, values: Mapping[str, Any], known_stacks: Iterable[str] | None
) -> None:
    """No stack names itself, and every stack named has a file."""
    lines: Mapping[str, int] = getattr(values, "lines", {})
    known = None if known_stacks is None else {short_name(s) for s in known_stacks}
    references = {
        "homeStack": (settings.home_stack,) if settings.home_stack else (),
        "peerStacks": settings.peer_stacks,
        "replicaStacks": settings.replica_stacks,
    }
    if settings.adopted is not None and settings.adopted.from_stack == stack:
        raise ConfigError(
            stack, "adopted.fromStack", "names this stack itself: a stack adopts from a lost one"
        )
    for key, names in references.items():
        for index, name in enumerate(names):
            line = lines.get(f"{key}.{index}") or lines.get(key)
            if short_name(name) == stack:
                raise ConfigError(stack, key, f"names this stack itself ({name})", line=line)
            if known is not None and short_name(name) not in known:
                raise ConfigError(
                    stack,
                    key,
                    f"names {name}, but there is no Pulumi.{short_name(name)}.yaml",
                    line=line,
                )


def with_peers(settings: Settings, configs: Mapping[str, Mapping[str, Any]]) -> Settings:
    """``settings`` with the parsed settings of every stack it references.

    Also checks, from this stack's side, what must hold between it and those stacks (one home,
    one region each, CIDRs apart, the keys that are the same everywhere).
    """
    peers = []
    for name in settings.referenced_stacks():
        config = configs.get(short_name(name))
        if config is None:
            continue
        peers.append(parse_settings(short_name(name), config))
    check_deployment([settings, *peers])
    return settings.model_copy(update={"peers": tuple(peers)})


def load_settings() -> Settings:
    """The settings of the stack being deployed, read from ``pulumi.Config``.

    A mistake stops the program with its message alone (a ``pulumi.RunError``, which Pulumi
    shows without a traceback).
    """
    try:
        return _load_settings()
    except ConfigError as error:
        raise ConfigRunError(
            error.stack, error.key, error.problem, line=error.line, also=error.also
        ) from None


def _load_settings() -> Settings:
    stack = pulumi.get_stack()
    values = _runtime_config()
    missing = {n for n in os.environ.get(MISSING_STACKS_ENV, "").split(",") if n}
    replicas = _as_declared(values).get("replicaStacks")
    if missing and isinstance(replicas, list):
        values["replicaStacks"] = [name for name in replicas if short_name(name) not in missing]
    files = {p.name[len("Pulumi.") : -len(".yaml")]: p for p in Path.cwd().glob("Pulumi.*.yaml")}
    # The line of each key comes from this stack's own file, when it is here.
    own = read_stack_file(stack, files[stack]) if stack in files else None
    located = StackValues(values, own.lines if own else {}, own.texts if own else {})
    settings = parse_settings(stack, located, known_stacks=list(files) or None)
    return with_peers(settings, {name: read_stack_file(name, path) for name, path in files.items()})


def _runtime_config() -> dict[str, Any]:
    """Every config key the Pulumi runtime holds for this stack, project keys unprefixed.

    All of them, not only the declared ones, so that a key in an unknown namespace or an
    unknown project key is refused here too rather than ignored.
    """
    from pulumi.runtime import config as runtime

    keys = set(runtime.CONFIG.get()) | set(runtime.get_config_env())
    values: dict[str, Any] = {}
    prefix = f"{PROJECT}:"
    for key in sorted(keys):
        value = runtime.get_config(key)
        if value is not None:
            values[key[len(prefix) :] if key.startswith(prefix) else key] = value
    return values
