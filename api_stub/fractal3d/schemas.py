"""Request and response bodies of the fractal3d dialect, field for field as seed 002 names them."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator, model_validator

MAX_URL_CHARS = 2048


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https URL")
    return value


class SourceFile(BaseModel):
    """A job's input: an uploaded `file_id` or a `url` to fetch, exactly one of them."""

    url: str | None = Field(default=None, max_length=MAX_URL_CHARS)
    file_id: str | None = Field(default=None, max_length=60)
    file_name: str = Field(min_length=1, max_length=255)
    webhook_url: str | None = Field(default=None, max_length=MAX_URL_CHARS)

    _urls = field_validator("url", "webhook_url")(_http_url)

    @model_validator(mode="after")
    def _one_source(self) -> SourceFile:
        if (self.url is None) == (self.file_id is None):
            raise ValueError("pass either url or file_id, not both and not neither")
        return self


class ConvertRequest(SourceFile):
    target_format: Literal["e3dx", "e2dx"]

    @field_validator("target_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class ThumbnailRequest(SourceFile):
    width: int = Field(ge=1, le=2048, strict=True)
    height: int = Field(ge=1, le=2048, strict=True)


class Permission(BaseModel):
    resource: str = Field(min_length=1, max_length=40)
    operation: str = Field(min_length=1, max_length=20)


class AccessTokenRequest(BaseModel):
    permissions: list[Permission] = Field(min_length=1, max_length=16)


class FileId(BaseModel):
    file_id: str


class FileInfo(BaseModel):
    file_id: str
    file_name: str
    size: int
    signed_url: str


class TransactionId(BaseModel):
    transaction_id: str


class ResultFile(BaseModel):
    url: str | None
    status: str = Field(description="Pending, Succeeded or Failed")
    message: str | None = Field(default=None, description="why it failed, when it did")


class AccessTokenIssued(BaseModel):
    access_token: str
