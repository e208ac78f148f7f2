"""The checkout's asyncpg pool connects where the engine does, a multi-host URL included."""

from __future__ import annotations

from voucherd.db.engine import create_database, driver_connect_args


async def test_a_multi_host_url_keeps_every_host_and_the_session_attributes() -> None:
    url = (
        "postgresql+asyncpg://shop:s%40cret@/voucherd?host=db-a:5432&host=db-b:5433"
        "&target_session_attrs=read-write&prepared_statement_cache_size=0"
    )
    database = create_database(url)
    try:
        arguments = driver_connect_args(database.engine, url)
    finally:
        await database.dispose()
    assert arguments == {
        "host": ["db-a", "db-b"],
        "port": [5432, 5433],
        "user": "shop",
        "password": "s@cret",
        "database": "voucherd",
        "target_session_attrs": "read-write",
    }


async def test_a_single_host_url_is_unchanged() -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    database = create_database(url)
    try:
        arguments = driver_connect_args(database.engine, url)
    finally:
        await database.dispose()
    assert arguments == {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "test"}
