"""Checks on command-line arguments, so a user's mistake is exit 2 with a message naming the
argument, never a traceback: every numeric option is finite, every file to write can be written.

Each check is a click/typer callback: raising `typer.BadParameter` makes click print
"Invalid value for '--gap': ..." with the usage line and exit 2.
"""

import math
import os
from pathlib import Path
from typing import NoReturn

import click
import typer
from capital_client.client import first_unprintable


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr and a non-zero exit: never a traceback for a user mistake
    (exit 2), nor for an answer the server gives (exit 1)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A float option must be a number: `nan` and `inf` pass click's range checks otherwise."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


def output_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A file the command will write: its folder must exist and be writable, and the path must
    not be a folder. Checked before any work is done, so nothing is fetched for nothing."""
    if value is None:
        return value
    if value.is_dir():
        raise typer.BadParameter(f"{value} is a folder, not a file")
    folder = value.parent
    if not folder.is_dir():
        raise typer.BadParameter(f"{value}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"{value}: the folder {folder} is not writable")
    if value.exists() and not os.access(value, os.W_OK):
        raise typer.BadParameter(f"{value}: the file exists and is not writable")
    return value


def bearer_token(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A token must be printable ASCII (HTTP sends header values as such; httpx raises a
    UnicodeEncodeError otherwise). The message says where it came from, never the token."""
    index = None if value is None else first_unprintable(value)
    if index is not None:
        source = ctx.get_parameter_source(param.name)
        where = (
            f"the token in ${param.envvar}"
            if source is not None and source.name == "ENVIRONMENT"
            else f"the token given with {param.opts[0]}"
        )
        raise typer.BadParameter(
            f"{where}: character {index + 1} (U+{ord(value[index]):04X}) is not printable "
            "ASCII; a bearer token has no spaces, accents or other scripts' letters"
        )
    return value
