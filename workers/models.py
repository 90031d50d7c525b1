"""Resolving a job's registered content model when it runs: the job stores only the
model's id; its endpoint and API key are read here, in the worker, and handed to the
kind in memory."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from config.settings import Settings
from storage import content_models
from storage.content_models import ModelNotFound
from storage.db import read_scope
from tasks.content import ModelSpec
from tasks.errors import ModelUnavailable


def with_model(params: BaseModel, tenant_id: str, settings: Settings) -> BaseModel:
    """`params` with `model` filled from the registry when they name a `model_id`;
    `ModelUnavailable` if that model is gone or incomplete."""
    model_id = getattr(params, "model_id", None)
    if model_id is None:
        return params
    with read_scope(settings.sql_url) as session:
        try:
            spec = content_models.spec_for(session, tenant_id, model_id, settings.model_key_secret)
        except ModelNotFound:
            raise ModelUnavailable(f"model {model_id} is no longer registered") from None
    try:
        model = ModelSpec(
            provider=spec["provider"],
            model_name=spec["model_name"],
            api_base=spec["api_base"],
            api_key=spec["api_key"] or "",
        )
    except ValidationError as exc:
        raise ModelUnavailable(
            f"model {model_id} is not usable: {exc.errors()[0]['msg']}"
        ) from None
    return params.model_copy(update={"model": model})
