"""The content API's creations: the tenant's generated items (writing, image, video,
ppt) in pages, one at a time, edited or deleted.

A creation's id is its job's id (the `creation_id`, `image_id`, `task_id` or `ppt_id`
its generation answered). `content` is a text's own words, or for a picture, a video or
a deck the URL of its file, unless the user has edited it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api_stub.bounds import SQL_INT_MAX
from api_stub.content.envelope import ContentError, ok, seed_time
from api_stub.deps import CallerDep, ReadSessionDep, SessionDep, SettingsDep
from config.settings import Settings
from storage import creations
from storage.creations import Creation, CreationNotFound
from storage.urls import download_links

router = APIRouter(prefix="/api/v1/creations", tags=["content"])

CreationId = Annotated[str, Path(min_length=1, max_length=40)]
# The param each kind's title comes from when the user has not given one.
TITLE_PARAM = {"writing": "title", "image": "prompt", "video": "script", "ppt": "topic"}
TITLE_CHARS = 100


class CreationUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, max_length=100_000)


def shown(creation: Creation, settings: Settings) -> dict[str, Any]:
    """A creation in the seed's shape."""
    title = creation.title or str(creation.params.get(TITLE_PARAM[creation.kind], ""))
    return {
        "id": creation.id,
        "type": creation.kind,
        "tool_type": creation.params.get("tool_type"),
        "title": title[:TITLE_CHARS] if creation.title is None else title,
        "content": creation.content if creation.content is not None else made(creation, settings),
        "created_at": seed_time(creation.created_at),
    }


def made(creation: Creation, settings: Settings) -> str | None:
    """What the generation made: a text, or the URL of its file."""
    if creation.kind == "writing":
        return creation.result.get("content")
    if not creation.outputs:
        return None
    return download_links(settings)(creation.outputs[0]["blob_key"])


def found(session: Session, tenant_id: str, creation_id: str) -> Creation:
    try:
        return creations.get(session, tenant_id, creation_id)
    except CreationNotFound:
        raise ContentError(404, f"资源不存在: creation {creation_id}") from None


@router.get("")
def list_creations(
    caller: CallerDep,
    session: ReadSessionDep,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=SQL_INT_MAX)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    kind: Annotated[Literal["writing", "image", "video", "ppt"] | None, Query(alias="type")] = None,
) -> dict[str, Any]:
    """The tenant's creations, newest first."""
    items, total = creations.listed(
        session, caller.tenant_id, kind, page_size, (page - 1) * page_size
    )
    return ok(
        {
            "total": total,
            "page": page,
            "page_size": page_size,
            "items": [shown(c, settings) for c in items],
        }
    )


@router.get("/{creation_id}")
def get_creation(
    creation_id: CreationId, caller: CallerDep, session: ReadSessionDep, settings: SettingsDep
) -> dict[str, Any]:
    return ok(shown(found(session, caller.tenant_id, creation_id), settings))


@router.put("/{creation_id}")
def update_creation(
    creation_id: CreationId,
    body: CreationUpdate,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    found(session, caller.tenant_id, creation_id)
    edited = creations.edit(session, caller.tenant_id, creation_id, body.title, body.content)
    session.commit()
    return ok(shown(edited, settings), "更新成功")


@router.delete("/{creation_id}")
def delete_creation(
    creation_id: CreationId, caller: CallerDep, session: SessionDep
) -> dict[str, Any]:
    found(session, caller.tenant_id, creation_id)
    creations.delete(session, caller.tenant_id, creation_id)
    session.commit()
    return ok(None, "删除成功")
