"""A real server (uvicorn, `capital serve`) on a fresh database of the session's backend with
the demo system loaded, for attacking over HTTP (schemathesis, hostile input, load)."""

import pytest

from tests.clients.conftest import Live
from tests.servers import demo_database, start_server, stop_server

__all__ = ["start_server"]


@pytest.fixture(scope="module")
def hostile(database_url, tmp_path_factory):
    url, env, tokens = demo_database(database_url, tmp_path_factory)
    server, base = start_server(env)
    yield Live(url=base, tokens=tokens, database_url=url)
    stop_server(server)
