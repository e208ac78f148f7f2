"""Metadata is kept as sent, within what every reader can render back."""

from __future__ import annotations

from typing import Any

import pytest

from voucherd.core.errors import InvalidInput
from voucherd.core.metadata import MAX_INTEGER, MIN_INTEGER, checked


@pytest.mark.parametrize(
    "value", [None, {}, {"a": [MIN_INTEGER, MAX_INTEGER, 1.5, True, None, "x", {"b": 2}]}]
)
def test_renderable_metadata_is_kept(value: Any) -> None:
    assert checked(value) is value


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"a": MAX_INTEGER + 1}, "metadata.a"),
        ({"a": [{"b": MIN_INTEGER - 1}]}, "metadata.a[0].b"),
        ({"a": float("nan")}, "metadata.a"),
        ([], "metadata"),
    ],
)
def test_what_no_reader_could_render_is_invalid_input(value: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        checked(value)
    assert raised.value.field == field
