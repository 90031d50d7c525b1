"""Every agent call names its merchant: `merchant_id`, a tenant's number. Missing or
malformed → 400, unknown → 404; the call then sees only that tenant's data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from api_stub.bounds import SQL_INT_MAX
from api_stub.deps import SettingsDep
from api_stub.errors import NotFound
from storage import tenants
from storage.db import read_scope


@dataclass(frozen=True)
class Merchant:
    merchant_id: int
    tenant_id: str


def merchant(
    settings: SettingsDep, merchant_id: Annotated[int, Query(ge=1, le=SQL_INT_MAX)]
) -> Merchant:
    """The merchant the call names, looked up in a read of its own: a route that then
    waits (capacity asks the workers) holds no connection meanwhile."""
    with read_scope(settings.sql_url) as session:
        tenant_id = tenants.tenant_of_merchant(session, merchant_id)
    if tenant_id is None:
        raise NotFound(f"merchant {merchant_id} not found", field="merchant_id")
    return Merchant(merchant_id, tenant_id)


MerchantDep = Annotated[Merchant, Depends(merchant)]
