"""DRF's limit/offset pages: `{count, next, previous, results}`, where `next` and
`previous` are absolute URLs keeping every other query parameter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from starlette.datastructures import URL

from api_stub.bounds import SQL_INT_MAX

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class Window:
    limit: int
    offset: int


def window(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=SQL_INT_MAX)] = 0,
) -> Window:
    return Window(limit, offset)


WindowDep = Annotated[Window, Depends(window)]


def next_link(url: URL, count: int, page: Window) -> str | None:
    """The following page's URL, or None when this page reaches the end."""
    if page.offset + page.limit >= count:
        return None
    return str(url.include_query_params(limit=page.limit, offset=page.offset + page.limit))


def previous_link(url: URL, page: Window) -> str | None:
    """The preceding page's URL (without `offset` when it is the first), or None on the
    first page."""
    if page.offset <= 0:
        return None
    if page.offset - page.limit <= 0:
        return str(url.include_query_params(limit=page.limit).remove_query_params("offset"))
    return str(url.include_query_params(limit=page.limit, offset=page.offset - page.limit))


def drf_page(url: URL, count: int, page: Window, results: list[Any]) -> dict[str, Any]:
    return {
        "count": count,
        "next": next_link(url, count, page),
        "previous": previous_link(url, page),
        "results": results,
    }
