from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import MetaData, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from voucherd.core import clock
from voucherd.core.ids import new_id
from voucherd.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def uuid_pk(default: Callable[[], uuid.UUID] = new_id) -> Mapped[uuid.UUID]:
    """A UUID primary key, time-ordered unless ``default`` says otherwise (see ``core.ids``)."""
    return mapped_column(Uuid, primary_key=True, default=default)


def timestamp_column() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, nullable=False, default=clock.now)
