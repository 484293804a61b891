"""The environment readers every function's settings use: what a broken deploy is told."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from functions.env import Env, SettingsError
from functions.health.settings import HealthSettings
from functions.notifier.settings import NotifierSettings
from functions.orders.db import DatabaseSettings
from functions.orders.settings import (
    IntakeSettings,
    OutboxDrainSettings,
    ProjectorSettings,
    SagaSettings,
    WriteApiSettings,
)
from functions.read_api.settings import ReadApiSettings
from functions.websocket.settings import WebSocketSettings


def test_a_missing_required_variable_is_named() -> None:
    # Given an environment without TABLE_NAME
    # When it is read / Then the error says which variable to set
    with pytest.raises(SettingsError, match="environment variable TABLE_NAME is required"):
        Env({}).required("TABLE_NAME")


def test_an_empty_or_blank_variable_counts_as_missing() -> None:
    # Given the infra wrote an empty value
    # When it is read / Then it is refused as missing, not used as ""
    with pytest.raises(SettingsError, match="TABLE_NAME"):
        Env({"TABLE_NAME": "  "}).required("TABLE_NAME")
    assert Env({"PRIMARY_REGION": ""}).optional("PRIMARY_REGION") is None


def test_a_required_variable_with_an_alternative_says_what_else_would_do() -> None:
    with pytest.raises(SettingsError, match=r"DB_HOST is required \(or set DATABASE_URL\)"):
        Env({}).required("DB_HOST", alternative="DATABASE_URL")


@pytest.mark.parametrize("raw", ["abc", "1.5", "2000ms"])
def test_an_integer_that_is_not_a_whole_number_is_refused_with_its_value(raw: str) -> None:
    with pytest.raises(SettingsError, match=f"DB_PORT must be a whole number, got '{raw}'"):
        Env({"DB_PORT": raw}).integer("DB_PORT", 5432)


@pytest.mark.parametrize("raw", ["", "  "])
def test_an_empty_integer_takes_its_default(raw: str) -> None:
    assert Env({"DB_PORT": raw}).integer("DB_PORT", 5432) == 5432


@pytest.mark.parametrize(
    ("raw", "says"), [("0", "at least 1"), ("70000", "at most 65535"), ("-3", "at least 1")]
)
def test_an_integer_out_of_its_bounds_is_refused_saying_the_bound(raw: str, says: str) -> None:
    with pytest.raises(SettingsError, match=f"DB_PORT must be {says}, got '{raw}'"):
        Env({"DB_PORT": raw}).integer("DB_PORT", 5432, minimum=1, maximum=65535)


@pytest.mark.parametrize("raw", ["0", "-1", "nan", "inf", "soon"])
def test_a_duration_must_be_a_positive_number(raw: str) -> None:
    with pytest.raises(SettingsError, match="FORWARD_TIMEOUT_SECONDS must be"):
        Env({"FORWARD_TIMEOUT_SECONDS": raw}).seconds("FORWARD_TIMEOUT_SECONDS", 3.0)


def test_a_duration_may_be_a_fraction_and_defaults_when_unset() -> None:
    assert Env({"FORWARD_TIMEOUT_SECONDS": "0.5"}).seconds("FORWARD_TIMEOUT_SECONDS", 3.0) == 0.5
    assert Env({}).seconds("FORWARD_TIMEOUT_SECONDS", 3.0) == 3.0


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("FALSE", False), ("True", True)])
def test_a_flag_is_true_or_false_in_any_case(raw: str, value: bool) -> None:
    assert Env({"DB_IAM_AUTH": raw}).flag("DB_IAM_AUTH", default=False) is value


@pytest.mark.parametrize("raw", ["yes", "1", "no", "off"])
def test_a_flag_is_never_guessed(raw: str) -> None:
    # Given a value that a person might mean as a boolean
    # When it is read / Then it is refused, naming the variable and what it accepts
    with pytest.raises(SettingsError, match="DB_IAM_AUTH must be 'false' or 'true'"):
        Env({"DB_IAM_AUTH": raw}).flag("DB_IAM_AUTH", default=True)


def test_a_choice_names_every_allowed_value() -> None:
    with pytest.raises(SettingsError, match="WRITE_MODE must be 'async' or 'sync', got 'fast'"):
        Env({"WRITE_MODE": "fast"}).choice("WRITE_MODE", ("sync", "async"), "sync")


def test_settings_errors_are_runtime_errors_so_a_cold_start_fails_loudly() -> None:
    assert issubclass(SettingsError, RuntimeError)


SETTINGS: list[Callable[[Mapping[str, str]], Any]] = [
    WriteApiSettings.from_env,
    SagaSettings.from_env,
    OutboxDrainSettings.from_env,
    ProjectorSettings.from_env,
    IntakeSettings.from_env,
    DatabaseSettings.from_env,
    HealthSettings.from_env,
    ReadApiSettings.from_env,
    WebSocketSettings.from_env,
    NotifierSettings.from_env,
]


@pytest.mark.parametrize("from_env", SETTINGS, ids=lambda f: f.__qualname__.split(".")[0])
def test_every_function_refuses_an_empty_environment_naming_a_variable(
    from_env: Callable[[Mapping[str, str]], Any],
) -> None:
    # Given a function deployed with no environment at all
    # When its settings are read / Then the error is a SettingsError naming what to set
    with pytest.raises(SettingsError, match=r"[A-Z][A-Z_]+[A-Z]"):
        from_env({})


@pytest.mark.parametrize("days", ["0", "366", "a week"])
def test_an_outbox_retention_out_of_bounds_is_refused_naming_it(days: str) -> None:
    env = {"AWS_REGION": "eu-west-1", "EVENT_BUS_NAME": "orders", "OUTBOX_RETENTION_DAYS": days}
    with pytest.raises(SettingsError, match="OUTBOX_RETENTION_DAYS"):
        OutboxDrainSettings.from_env(env)


def test_the_outbox_keeps_published_events_a_week_unless_told() -> None:
    env = {"AWS_REGION": "eu-west-1", "EVENT_BUS_NAME": "orders"}
    assert OutboxDrainSettings.from_env(env).retention_days == 7
    assert OutboxDrainSettings.from_env({**env, "OUTBOX_RETENTION_DAYS": "30"}).retention_days == 30
