"""The content model registry on real SQL: keys sealed at rest, never in a view,
opened only for the worker, and every model private to its tenant."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from storage import content_models, tenants
from storage.content_models import ModelFields, ModelNotFound
from storage.db import session_scope
from storage.migrate import upgrade
from storage.models import ContentModel

SECRET = "a-model-key-secret-for-tests"
QWEN = ModelFields(
    name="通义千问Plus",
    provider="qwen",
    model_name="qwen-plus",
    api_base="https://dashscope.example/api/v1",
    api_key="sk-very-secret",
    config={"temperature": 0.7},
    credits_cost=8,
)


@pytest.fixture(scope="module")
def sql(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> str:
    url = database_url or f"sqlite:///{tmp_path_factory.mktemp('sql') / 'models.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture
def tenant_id(sql: str) -> str:
    with session_scope(sql) as session:
        return tenants.create_key(session, f"cm-{uuid.uuid4().hex[:8]}").tenant_id


def test_the_key_is_sealed_at_rest_and_never_in_a_view(sql: str, tenant_id: str) -> None:
    with session_scope(sql) as session:
        view = content_models.create(session, tenant_id, QWEN, SECRET)
    with session_scope(sql) as session:
        stored = session.scalars(select(ContentModel).where(ContentModel.id == view.id)).one()
        spec = content_models.spec_for(session, tenant_id, view.id, SECRET)

    assert view.has_api_key and not hasattr(view, "api_key")
    assert stored.api_key_encrypted and "sk-very-secret" not in stored.api_key_encrypted
    assert spec["api_key"] == "sk-very-secret"
    assert (spec["model_name"], spec["config"]) == ("qwen-plus", {"temperature": 0.7})


def test_a_key_sealed_under_another_secret_does_not_open(sql: str, tenant_id: str) -> None:
    with session_scope(sql) as session:
        view = content_models.create(session, tenant_id, QWEN, SECRET)
        assert content_models.spec_for(session, tenant_id, view.id, "other")["api_key"] is None


def test_update_changes_only_the_given_fields(sql: str, tenant_id: str) -> None:
    with session_scope(sql) as session:
        view = content_models.create(session, tenant_id, QWEN, SECRET)
        updated = content_models.update(
            session, tenant_id, view.id, ModelFields(credits_cost=12, is_active=False), SECRET
        )
        spec = content_models.spec_for(session, tenant_id, view.id, SECRET)

    assert (updated.credits_cost, updated.is_active, updated.name) == (12, False, "通义千问Plus")
    assert spec["api_key"] == "sk-very-secret"


def test_listing_filters_by_provider_and_activity(sql: str, tenant_id: str) -> None:
    with session_scope(sql) as session:
        content_models.create(session, tenant_id, QWEN, SECRET)
        local = ModelFields(name="local", provider="local", model_name="local", credits_cost=1)
        content_models.create(session, tenant_id, local, SECRET)
        assert [m.provider for m in content_models.listed(session, tenant_id, "qwen")] == ["qwen"]
        assert len(content_models.listed(session, tenant_id, is_active=True)) == 2


def test_another_tenants_model_is_not_found(sql: str, tenant_id: str) -> None:
    with session_scope(sql) as session:
        view = content_models.create(session, tenant_id, QWEN, SECRET)
        stranger = tenants.create_key(session, f"cm-{uuid.uuid4().hex[:8]}").tenant_id
        with pytest.raises(ModelNotFound):
            content_models.spec_for(session, stranger, view.id, SECRET)
        with pytest.raises(ModelNotFound):
            content_models.delete(session, stranger, view.id)
