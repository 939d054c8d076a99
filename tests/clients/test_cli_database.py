"""The commands that use this machine's database check it first: one that is not set up,
behind this version's migrations, set up by a newer version, or cannot be opened is one line
and exit 2, never a traceback from the first query (`capital serve` printed one per process)."""

import os

import pytest
from sqlalchemy import create_engine, text

from api.migrate import upgrade
from tests.servers import capital, fresh_database, refused


def _refused_with(url: str, *args: str) -> str:
    result = capital(*args, env=os.environ | {"DATABASE_URL": url}, timeout=120)
    return refused(result, one_line=True).strip()


COMMANDS = [("demo",), ("users", "list"), ("serve", "--port", "1"), ("serve", "--port", "1", "--workers", "2")]  # fmt: skip


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_database_not_set_up_is_named_with_what_to_do(database_url, tmp_path_factory, args):
    url = fresh_database(database_url, tmp_path_factory, suffix="notsetup")
    assert _refused_with(url, *args) == (
        f"error: the database {url} is not set up: run `capital db upgrade` first"
    )


def test_a_database_behind_or_ahead_of_this_version_is_named(database_url, tmp_path_factory):
    url = fresh_database(database_url, tmp_path_factory, suffix="behind")
    upgrade(url, "0006")
    assert _refused_with(url, "users", "list").endswith(
        "is at revision 0006 and this version of capital needs 0007: run `capital db upgrade` first"
    )
    upgrade(url, "head")
    assert capital("users", "list", env=os.environ | {"DATABASE_URL": url}).returncode == 0
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    assert _refused_with(url, "demo").endswith(
        "is at revision 0099, which this version of capital does not know (a newer version set it up)"
    )


def test_a_database_that_cannot_be_opened_is_named(tmp_path):
    url = f"sqlite:///{tmp_path}/no/such/folder/capital.db"
    assert _refused_with(url, "users", "list") == (
        f"error: cannot open the database {url}: unable to open database file"
    )
