"""``PageRequest``: the bounds every list takes, whichever dialect asks."""

from __future__ import annotations

import pytest

from voucherd.core.errors import InvalidInput
from voucherd.core.pagination import MAX_PAGE, PageRequest


@pytest.mark.parametrize("page", [0, MAX_PAGE + 1, 10**18])
def test_a_page_out_of_bounds_is_invalid_input(page: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        PageRequest(page=page)
    assert raised.value.field == "page"


def test_the_last_page_has_an_offset_every_database_takes() -> None:
    assert PageRequest(page=MAX_PAGE, limit=100).offset < 2**63
