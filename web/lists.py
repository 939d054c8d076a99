"""The API's list services page their results ({items, total} with limit/offset); a page of
the web application shows a whole (small) list: every system, organisation, round or run
the caller may see."""

from collections.abc import Callable
from typing import Any

EVERYTHING = 10_000


def all_of(list_function: Callable[..., tuple[list[Any], int]], *args: Any, **kwargs: Any) -> list:
    rows, _total = list_function(*args, limit=EVERYTHING, offset=0, **kwargs)
    return rows
