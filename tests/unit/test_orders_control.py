"""The control record's rules: what its readers accept and what the failover tools may write."""

from __future__ import annotations

from typing import Any

import pytest

from functions.orders import control
from functions.orders.ports import ControlRecord, ControlUnavailable, Mode

URL = "https://abc.execute-api.eu-west-1.amazonaws.com/prod/internal/orders"


def item(**attributes: Any) -> dict[str, Any]:
    """A well-formed control item's attributes, with some replaced (None: removed)."""
    base: dict[str, Any] = {
        "pk": {"S": "CONTROL"},
        "sk": {"S": "PRIMARY"},
        "primaryRegion": {"S": "eu-west-1"},
        "writeUrl": {"S": URL},
        "mode": {"S": "normal"},
    }
    base.update(attributes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_well_formed_item_is_the_record_it_names() -> None:
    # Given the item `ops failover` writes / When read / Then it is that record
    assert control.from_item(item()) == ControlRecord("eu-west-1", URL, Mode.NORMAL)
    assert control.from_item(item(writeUrl=None, mode={"S": "read-only"})) == ControlRecord(
        "eu-west-1", None, Mode.READ_ONLY
    )


@pytest.mark.parametrize(
    "attributes, problem",
    [
        ({"mode": {"N": "1"}}, "mode must be a string"),
        ({"mode": {"BOOL": True}}, "mode must be a string"),
        ({"mode": {"S": "NORMAL"}}, "mode must be one of normal, read-only"),
        ({"mode": {"S": ""}}, "mode must be one of"),
        ({"mode": None}, "mode is missing"),
        ({"primaryRegion": {"S": ""}}, "primaryRegion must be an AWS region name"),
        ({"primaryRegion": None}, "primaryRegion is missing"),
        ({"primaryRegion": {"N": "1"}}, "primaryRegion must be a string"),
        ({"primaryRegion": {"S": "eu-west-1 "}}, "primaryRegion must be an AWS region name"),
        ({"primaryRegion": {"S": "Europe"}}, "primaryRegion must be an AWS region name"),
        ({"writeUrl": {"S": "http://primary.example/internal/orders"}}, "https:// URL"),
        ({"writeUrl": {"S": "primary.example/internal/orders"}}, "https:// URL"),
        ({"writeUrl": {"S": "https:///internal/orders"}}, "https:// URL"),
        ({"writeUrl": {"S": ""}}, "https:// URL"),
        ({"writeUrl": {"S": "https://h.example:port/x"}}, "https:// URL"),
        ({"writeUrl": {"S": "https://u:p@h.example/x"}}, "not carry a user or a password"),
        ({"writeUrl": {"S": "https://h.example/x?a=1"}}, "no query and no fragment"),
        ({"writeUrl": {"NULL": True}}, "writeUrl must be a string"),
    ],
)
def test_a_malformed_item_is_unusable_and_says_what_is_wrong(
    attributes: dict[str, Any], problem: str
) -> None:
    # Given a control item with one attribute wrong
    # When read
    with pytest.raises(control.MalformedControlRecord) as refused:
        control.from_item(item(**attributes))
    # Then it is unusable, like an unreadable record, and the message names the problem
    assert isinstance(refused.value, ControlUnavailable)
    assert problem in str(refused.value)


def test_a_read_only_record_may_name_no_known_region_but_never_an_empty_one() -> None:
    # Given what `ops read-only` writes when no writer is known
    unknown = ControlRecord("unknown", None, Mode.READ_ONLY)
    # When checked / Then it is accepted in read-only mode, and nowhere else
    assert control.check(unknown) is unknown
    with pytest.raises(control.MalformedControlRecord, match="primaryRegion"):
        control.check(ControlRecord("unknown", None, Mode.NORMAL))
    with pytest.raises(control.MalformedControlRecord, match="primaryRegion"):
        control.check(ControlRecord("", None, Mode.READ_ONLY))


@pytest.mark.parametrize(
    "record",
    [
        ControlRecord("", URL, Mode.NORMAL),
        ControlRecord("eu-west-1", "http://h.example/x", Mode.NORMAL),
        ControlRecord("eu-west-1", URL, "normal"),  # type: ignore[arg-type]
        ControlRecord("eu-west-1", URL, 1),  # type: ignore[arg-type]
        ControlRecord(None, URL, Mode.NORMAL),  # type: ignore[arg-type]
    ],
)
def test_a_record_a_tool_built_wrong_is_refused(record: ControlRecord) -> None:
    # Given a record a tool built wrong / When checked before it is written / Then refused
    with pytest.raises(control.MalformedControlRecord):
        control.check(record)


@pytest.mark.parametrize(
    "record",
    [
        ControlRecord("eu-west-1", URL, Mode.NORMAL),
        ControlRecord("us-east-1", None, Mode.READ_ONLY),
        ControlRecord("unknown", None, Mode.READ_ONLY),
    ],
)
def test_what_a_tool_writes_every_reader_reads_back_as_the_same_record(
    record: ControlRecord,
) -> None:
    # Given a record `ops failover` or `ops read-only` writes
    written = control.to_item(record)
    # When a write API reads the item / Then it is the same record, under the control key
    assert control.from_item(written) == record
    assert (written["pk"], written["sk"]) == ({"S": "CONTROL"}, {"S": "PRIMARY"})


def test_a_record_no_reader_could_use_is_never_encoded() -> None:
    with pytest.raises(control.MalformedControlRecord, match="https:// URL"):
        control.to_item(ControlRecord("eu-west-1", "http://h.example/x", Mode.NORMAL))
