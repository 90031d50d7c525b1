"""The content API's credit and model endpoints.

Callers present `Authorization: Bearer <api key>`. Models are the tenant's own; their
API keys go in and never come out.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api_stub.bounds import SQL_INT_MAX
from api_stub.content.envelope import ContentError, ok, seed_time
from api_stub.content.users import UserPrincipal
from api_stub.deps import CallerDep, ReadSessionDep, SessionDep, SettingsDep
from storage import content_models, content_users, credits
from storage.content_models import ModelFields, ModelNotFound, ModelView
from storage.models import iso

router = APIRouter(prefix="/api/v1", tags=["content"])

ModelId = Annotated[int, Path(ge=1, le=SQL_INT_MAX)]


class ModelCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    provider: str = Field(min_length=1, max_length=40)
    model_name: str = Field(min_length=1, max_length=100)
    api_key: str | None = Field(default=None, max_length=500)
    api_base: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    config: dict[str, Any] = Field(default_factory=dict)
    credits_cost: int = Field(default=0, ge=0, le=1_000_000)
    is_active: bool = True


class ModelUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    provider: str | None = Field(default=None, min_length=1, max_length=40)
    model_name: str | None = Field(default=None, min_length=1, max_length=100)
    api_key: str | None = Field(default=None, max_length=500)
    api_base: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    config: dict[str, Any] | None = None
    credits_cost: int | None = Field(default=None, ge=0, le=1_000_000)
    is_active: bool | None = None


def public(model: ModelView) -> dict[str, Any]:
    return {
        "id": model.id,
        "name": model.name,
        "provider": model.provider,
        "model_name": model.model_name,
        "api_base": model.api_base,
        "config": model.config,
        "is_active": model.is_active,
        "credits_cost": model.credits_cost,
        "has_api_key": model.has_api_key,
    }


@router.get("/credit/balance")
def credit_balance(caller: CallerDep, session: ReadSessionDep) -> dict[str, Any]:
    """The tenant's balance; a user's membership (a farm API key has none)."""
    user = None
    if isinstance(caller, UserPrincipal):
        user = content_users.of_tenant(session, caller.tenant_id, caller.user_id)
    member = user is not None and user.is_member()
    return ok(
        {
            "credit_balance": credits.balance(session, caller.tenant_id),
            "is_member": member,
            "membership_type": user.membership_type if user and member else None,
            "membership_end_date": seed_time(user.membership_end_date) if user and member else None,
        }
    )


@router.get("/credit/transactions")
def credit_transactions(
    caller: CallerDep,
    session: ReadSessionDep,
    page: Annotated[int, Query(ge=1, le=SQL_INT_MAX)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The ledger, newest first: recharges, reservations, charges and refunds."""
    items, total = credits.movements(session, caller.tenant_id, page_size, (page - 1) * page_size)
    return ok(
        {
            "total": total,
            "page": page,
            "page_size": page_size,
            "items": [
                {
                    "id": m.id,
                    "type": m.kind,
                    "amount": m.amount,
                    "balance_after": m.balance_after,
                    "description": m.note,
                    "task_id": m.job_id,
                    "created_at": iso(m.at),
                }
                for m in items
            ],
        }
    )


@router.get("/models")
def list_models(
    caller: CallerDep,
    session: ReadSessionDep,
    provider: str | None = None,
    is_active: bool | None = None,
) -> dict[str, Any]:
    models = content_models.listed(session, caller.tenant_id, provider, is_active)
    return ok([public(m) for m in models])


@router.post("/models")
def create_model(
    body: ModelCreate, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    fields = ModelFields(**body.model_dump())
    model = content_models.create(session, caller.tenant_id, fields, settings.model_key_secret)
    session.commit()
    return ok(public(model), "模型创建成功")


@router.put("/models/{model_id}")
def update_model(
    model_id: ModelId,
    body: ModelUpdate,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    fields = ModelFields(**body.model_dump(exclude_unset=True))
    try:
        model = content_models.update(
            session, caller.tenant_id, model_id, fields, settings.model_key_secret
        )
    except ModelNotFound:
        raise ContentError(404, f"资源不存在: model {model_id}") from None
    session.commit()
    return ok(public(model), "模型更新成功")


@router.delete("/models/{model_id}")
def delete_model(model_id: ModelId, caller: CallerDep, session: SessionDep) -> dict[str, Any]:
    try:
        content_models.delete(session, caller.tenant_id, model_id)
    except ModelNotFound:
        raise ContentError(404, f"资源不存在: model {model_id}") from None
    session.commit()
    return ok(None, "模型已删除")
