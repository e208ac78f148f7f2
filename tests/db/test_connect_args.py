"""The checkout's asyncpg pool connects where the engine does, a multi-host URL included."""

from __future__ import annotations

from voucherd.config import Settings
from voucherd.db.engine import create_database, driver_connect_args, engine_connect_args, postgres_timeouts


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


async def test_the_serving_pools_give_up_on_a_silent_database_and_one_off_work_does_not(
    postgres_url: str,
) -> None:
    settings = Settings(database_connect_timeout_seconds=4, database_statement_timeout_seconds=20)
    serving = create_database(postgres_url, settings)
    one_off = create_database(postgres_url, settings, pool=False)
    try:
        # the engine's connections and the checkout's (asyncpg's own pool) alike
        async with serving.engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            assert raw._config.command_timeout == 20
        async with (await serving.driver()).acquire() as checkout:
            assert checkout._con._config.command_timeout == 20
        assert serving.timeouts == {"timeout": 4, "command_timeout": 20}
        # a one-off command (copy) may run long statements
        async with one_off.engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            assert raw._config.command_timeout is None
    finally:
        await serving.dispose()
        await one_off.dispose()
    # a migration connects with the same patience, but its statements (index builds) have no limit
    assert engine_connect_args(postgres_url, settings) == {"timeout": 4}
    assert postgres_timeouts(Settings(database_statement_timeout_seconds=0)) == {"timeout": 5.0}
