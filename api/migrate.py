"""Run Alembic migrations programmatically (used by `capital db upgrade` and the tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is ConfigParser interpolation syntax; URLs may contain it (escaped passwords).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def unready(url: str) -> str | None:
    """Why the database at `url` cannot be used by this version of capital, in words (None
    when it is at the migrations' head): not reachable, not set up, behind or unknown."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from api.db import make_engine

    where = make_url(url).render_as_string(hide_password=True)
    scripts = ScriptDirectory.from_config(alembic_config(url))
    head = scripts.get_current_head()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"cannot open the database {where}: {reason}"
    finally:
        engine.dispose()
    if current == head:
        return None
    if current is None:
        return f"the database {where} is not set up: run `capital db upgrade` first"
    if current in {script.revision for script in scripts.walk_revisions()}:
        return (f"the database {where} is at revision {current} and this version of capital "
                f"needs {head}: run `capital db upgrade` first")  # fmt: skip
    return (f"the database {where} is at revision {current}, which this version of capital "
            "does not know (a newer version set it up)")  # fmt: skip
