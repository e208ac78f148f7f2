"""The pure campaign rules the dashboard shows: a campaign's state and a code pattern's room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voucherd.campaigns.rules import campaign_state, code_room
from voucherd.core.codes import CodePattern

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("status", "valid_from", "valid_until", "state"),
    [
        ("active", None, None, "active"),
        ("active", NOW - HOUR, NOW + HOUR, "active"),
        ("active", None, NOW - HOUR, "ended"),
        ("active", NOW + HOUR, None, "scheduled"),
        ("paused", None, NOW - HOUR, "paused"),  # paused says so before anything else
        ("paused", NOW + HOUR, None, "paused"),
    ],
)
def test_campaign_state(
    status: str, valid_from: datetime | None, valid_until: datetime | None, state: str
) -> None:
    assert campaign_state(status, valid_from, valid_until, NOW) == state


@pytest.mark.parametrize(
    ("pattern", "charset", "wanted", "capacity", "fits"),
    [
        ("JAN-######", "23456789ABCDEFGHJKMNPQRSTUVWXYZ", None, 846, True),
        ("JAN-######", "23456789ABCDEFGHJKMNPQRSTUVWXYZ", 846, 846, True),
        ("JAN-######", "23456789ABCDEFGHJKMNPQRSTUVWXYZ", 847, 846, False),
        ("####", "23456789ABCDEFGHJKMNPQRSTUVWXYZ", 1, 0, False),
        ("##########", "0123456789", 1, 9536, True),
    ],
)
def test_code_room(pattern: str, charset: str, wanted: int | None, capacity: int, fits: bool) -> None:
    room = code_room(CodePattern(pattern, charset), margin_bits=20, wanted=wanted)
    assert (room.capacity, room.fits) == (capacity, fits)


def test_a_refusal_names_the_pattern_its_room_and_the_number() -> None:
    room = code_room(CodePattern("JAN-######"), margin_bits=20, wanted=5000)
    assert room.refusal().startswith(
        "The code pattern JAN-###### can hold at most 846 codes while keeping codes unguessable "
        "(at most 1 in 1,048,576 guesses may hit a live code); this campaign would have 5,000."
    )
