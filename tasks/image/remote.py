"""A client of an OpenAI-compatible `POST {api_base}/images/generations` endpoint: one
picture for a prompt at a size, answered as base64 (`b64_json`) or as a URL fetched
through the farm's session. Whatever comes back must be an image; it is fitted to the
size asked. An unreachable endpoint, an HTTP error or an answer that is not a picture
raises `ModelUnavailable`; the key is sent only as a bearer token, never logged."""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass, field
from typing import Any

import requests
from PIL import Image, UnidentifiedImageError

from tasks.errors import ModelUnavailable

CONNECT_TIMEOUT_S = 5.0
MAX_IMAGE_BYTES = 32 * 1024**2


@dataclass(frozen=True)
class ImagesModel:
    api_base: str
    api_key: str = field(repr=False)
    model_name: str
    timeout_s: float = 60.0
    session: requests.Session | None = field(default=None, repr=False, compare=False)

    def draw(self, prompt: str, width: int, height: int) -> Image.Image:
        """The model's picture for `prompt`, as RGB at exactly `width` × `height`."""
        body = {
            "model": self.model_name,
            "prompt": prompt,
            "size": f"{width}x{height}",
            "n": 1,
            "response_format": "b64_json",
        }
        answer = self._send("POST", self.api_base.rstrip("/") + "/images/generations", body)
        picture = decoded(self._picture_bytes(answer))
        if picture.size != (width, height):
            picture = picture.resize((width, height), Image.Resampling.LANCZOS)
        return picture

    def _picture_bytes(self, response: requests.Response) -> bytes:
        try:
            item = response.json()["data"][0]
        except (ValueError, LookupError, TypeError) as exc:
            raise ModelUnavailable("the model's answer is not an images response") from exc
        if isinstance(item, dict) and isinstance(item.get("b64_json"), str):
            try:
                return base64.b64decode(item["b64_json"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ModelUnavailable("the model's picture is not base64") from exc
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            return capped(self._send("GET", item["url"], None))
        raise ModelUnavailable("the model's answer has no picture")

    def _send(self, method: str, url: str, body: dict[str, Any] | None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.api_key}"} if body is not None else {}
        timeout = (min(CONNECT_TIMEOUT_S, self.timeout_s), self.timeout_s)
        try:
            response = (self.session or requests).request(
                method, url, json=body, headers=headers, timeout=timeout, stream=True
            )
        except Exception:
            # requests' own failures, or the farm session's SSRF refusal: the class only.
            raise ModelUnavailable(f"{self.model_name} is unreachable") from None
        if response.status_code != 200:
            raise ModelUnavailable(f"{self.model_name} answered HTTP {response.status_code}")
        return response


def capped(response: requests.Response) -> bytes:
    """The response's body, read no further than one byte past `MAX_IMAGE_BYTES`."""
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_IMAGE_BYTES:
            break
    response.close()
    return bytes(body)


def decoded(data: bytes) -> Image.Image:
    """`data` as an RGB picture, or `ModelUnavailable` when it is none (or too large)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ModelUnavailable("the model's picture is too large")
    try:
        with Image.open(io.BytesIO(data)) as picture:
            return picture.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ModelUnavailable("the model's answer is not a picture") from exc
