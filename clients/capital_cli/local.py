"""The commands that use this machine's database (DATABASE_URL) rather than a server: they
check first that it can be opened and is at this version's migrations, so a database not
yet set up (`capital db upgrade` forgotten) or not reachable is one line and exit 2, not a
traceback from the first query."""

from capital_cli.checks import fail


def require_database() -> None:
    from api.migrate import unready
    from api.settings import get_settings

    if reason := unready(get_settings().database_url):
        fail(reason)


def transaction():
    """One unit of work on the database, once it is known to be ready."""
    from api.db import get_sessionmaker, unit_of_work

    require_database()
    return unit_of_work(get_sessionmaker())
