"""Form bodies as curl sends them (seed 003's examples) and as browsers encode them."""

from __future__ import annotations

from typing import Any

import pytest

from voucherd.api.vouchercart.body import parse_form
from voucherd.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        (b"title=Season sale 25%", {"title": "Season sale 25%"}),  # curl -d sends it as typed
        (b"title=Season+sale+25%25", {"title": "Season sale 25%"}),  # a browser's encoding
        (b"note=100%+off&x=%zz", {"note": "100% off", "x": "%zz"}),
        (b"fullName=John+Doe&email=a%40b.co", {"fullName": "John Doe", "email": "a@b.co"}),
        (
            b"payments[0][amount]=1999&payments[0][method]=card&payments[1][amount]=1",
            {"payments": [{"amount": "1999", "method": "card"}, {"amount": "1"}]},
        ),
        (b"metadata[ref]=A-1&metadata[tag]=x", {"metadata": {"ref": "A-1", "tag": "x"}}),
        (b"expiry[interval]=12&expiry[unit]=months", {"expiry": {"interval": "12", "unit": "months"}}),
        (b"recipients[1][email]=b@x.co", {"recipients": [None, {"email": "b@x.co"}]}),
        (b"a=1&&b=&=ignored", {"a": "1", "b": ""}),
        (b"name=caf%C3%A9", {"name": "café"}),
    ],
)
def test_parse_form(raw: bytes, fields: dict[str, Any]) -> None:
    assert parse_form(raw) == fields


def test_a_huge_list_position_is_refused() -> None:
    with pytest.raises(InvalidInput, match="list positions"):
        parse_form(b"payments[1000000][amount]=1")
