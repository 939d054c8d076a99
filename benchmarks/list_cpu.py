"""CPU per page of `GET /api/v1/schemes?limit=50`, in process (issue 9).

    DATABASE_URL=sqlite:///... .venv/bin/python -m benchmarks.list_cpu [--profile]

Point it at a database with the demo (`capital db upgrade && capital demo`). It issues an
ics_finance token, then after a warm-up sends `--requests` GETs through the whole ASGI app
(auth, session, queries, JSON, middleware; not uvicorn's HTTP parsing) with httpx's
ASGITransport on one event loop, and reports `time.process_time` per page: CPU, so the figure
hardly depends on how busy the machine is. `--profile` prints the top of a cProfile of the
same requests instead, with the thread pool replaced by inline calls so that the
route and its dependencies show in the profile.
"""

import argparse
import asyncio
import cProfile
import pstats
import time

import anyio.to_thread
import httpx

from api.db import get_sessionmaker, unit_of_work
from api.main import app
from api.users import repository as users_repository
from api.users import service as users_service


def _token() -> str:
    with unit_of_work(get_sessionmaker()) as session:
        user = next(u for u in users_repository.list_users(session) if u.role == "ics_finance")
        return users_service.issue_token(session, user=user)


async def _inline(func, *args, **_kwargs):
    return func(*args)


async def _run(args) -> None:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {_token()}"}
    params = {"limit": args.limit}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers
    ) as client:

        async def page(path: str = "/api/v1/schemes") -> None:
            response = await client.get(path, params=params)
            assert response.status_code == 200, response.text

        for _ in range(10):  # warm-up: imports, compiled statements, the pool
            await page()
            await page("/health")
        items = len((await client.get("/api/v1/schemes", params=params)).json()["items"])
        if args.profile:
            anyio.to_thread.run_sync = _inline
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                await page()
            profiler.disable()
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
            return
        cpu = {}
        for path in ("/api/v1/schemes", "/health"):
            started = time.process_time()
            for _ in range(args.requests):
                await page(path)
            cpu[path] = (time.process_time() - started) / args.requests
    print(f"GET /schemes?limit={args.limit} ({items} items): {cpu['/api/v1/schemes'] * 1000:.1f} ms "
          f"CPU per page (mean of {args.requests} after warm-up, in process, time.process_time); "
          f"GET /health, the floor of the app and the test client: {cpu['/health'] * 1000:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=80)
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
