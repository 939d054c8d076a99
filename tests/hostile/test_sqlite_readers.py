"""On SQLite, reads never wait for the write lock: GETs run in deferred transactions on a WAL
database, while writers begin IMMEDIATE. (A 20,000-row import once held every GET for 10.5 s.)"""

import sqlite3
import time

import httpx
import pytest


@pytest.mark.slow
def test_a_get_answers_while_a_writer_holds_the_write_lock(hostile):
    if not hostile.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL readers never take a write lock")
    path = hostile.database_url.removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None, timeout=30)
    assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    headers = {"Authorization": f"Bearer {hostile.tokens['ics_finance']}"}
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE systems SET name = name || ' (renaming)'")
        started = time.perf_counter()
        response = httpx.get(f"{hostile.url}/api/v1/schemes", params={"limit": 50},
                             headers=headers, timeout=30)  # fmt: skip
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        assert elapsed < 2, f"a GET waited {elapsed:.1f} s behind a writer"
        # it read the last committed state, not the writer's uncommitted change
        systems = httpx.get(f"{hostile.url}/api/v1/systems", headers=headers, timeout=30).json()
        assert not any("(renaming)" in s["name"] for s in systems["items"])
        # while a write request does wait for the lock (and gets it once the writer is done)
        writer.execute("ROLLBACK")
    finally:
        writer.close()
