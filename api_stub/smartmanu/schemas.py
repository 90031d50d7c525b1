"""smartmanu's request bodies, field for field as seed 000 names them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class TokenRequest(BaseModel):
    api_key: str = Field(min_length=1, max_length=200)
    secret: str = Field(default="", max_length=200)


class DesignRequest(BaseModel):
    """`{"product_type", "params": {"color", "pattern", ...}}`, as /v2/design/generate takes."""

    product_type: str = Field(min_length=1, max_length=40)
    params: dict[str, Any] = Field(default_factory=dict)

    def kind_params(self) -> dict[str, Any]:
        """The `design` job kind's params: the product type beside the rest."""
        return {**self.params, "product_type": self.product_type}

    def image_file_id(self) -> str | None:
        """The uploaded file an `image` pattern draws, if any."""
        pattern = self.params.get("pattern")
        if isinstance(pattern, dict) and pattern.get("type") == "image":
            file_id = pattern.get("file_id")
            return file_id if isinstance(file_id, str) else None
        return None


class BatchTask(BaseModel):
    task_id: str = Field(min_length=1, max_length=100)
    design_params: DesignRequest


class BatchRequest(BaseModel):
    tasks: list[BatchTask] = Field(min_length=1)
