"""Content generation behind the `video` and `ppt` kinds: a script → timed scenes, a topic
and outline → slides. Two models speak the same small interface: `LocalModel`, which
expands the text by fixed rules (no network, same answer every time), and
`ChatCompletionsModel`, a client of an OpenAI-compatible `/chat/completions` endpoint.
Both answers go through the same shaping rules, so a scene list always fits its duration."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasks.errors import ModelUnavailable

LOCAL = "local"
MIN_SCENE_S = 2.0  # shorter scenes flash by before their caption can be read
MAX_SCENE_S = 10.0  # longer ones look frozen
MAX_SCENES = 60
CONNECT_TIMEOUT_S = 5.0
SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=\.)(?=\s)|\n+")
HEADING = re.compile(r"^\s*([^：:。！？；!?;]{1,12})[：:]\s*(\S.*)$", re.DOTALL)
CLAUSE_BREAK = re.compile(r"(?<=[，、,：:])")
WORD_BREAK = re.compile(r"(?<=\s)(?=\S)")
CJK = re.compile(r"[\u3400-\u9fff]")
FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
Answer = TypeVar("Answer", bound=BaseModel)


@dataclass(frozen=True)
class Scene:
    """One scene of a video: its heading, the text shown, and how long it lasts."""

    title: str
    caption: str
    seconds: float


@dataclass(frozen=True)
class Slide:
    """One slide: its heading and its bullet points."""

    title: str
    bullets: tuple[str, ...]


class ModelSpec(BaseModel):
    """Which model writes the content; filled by the dialect from its model registry.
    `provider` "local" needs nothing else; any other provider is reached through an
    OpenAI-compatible `api_base`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(default=LOCAL, min_length=1, max_length=40)
    model_name: str = Field(default="", max_length=200)
    api_base: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=500)
    api_key: str = Field(default="", max_length=500, repr=False)
    timeout_s: float = Field(default=60.0, gt=0, le=300)

    @model_validator(mode="after")
    def _remote_needs_an_endpoint(self) -> ModelSpec:
        if self.provider != LOCAL and not (self.api_base and self.model_name):
            raise ValueError(f"provider {self.provider!r} needs api_base and model_name")
        return self


class ContentModel(Protocol):
    """Writes the content of a video or a deck. Raises `ModelUnavailable` when it cannot."""

    def scenes(self, script: str, duration_s: float) -> list[Scene]:
        """The script as scenes whose seconds add up to `duration_s`."""
        ...

    def slides(self, topic: str, outline: list[str]) -> list[Slide]:
        """A deck on `topic`: a cover slide, then one slide per outline item."""
        ...


def model_for(spec: ModelSpec | None, session: requests.Session | None = None) -> ContentModel:
    """The model `spec` names: `LocalModel` when there is none or it is local. A remote
    one calls out through `session` (the farm's, with its SSRF guard), else plain requests."""
    if spec is None or spec.provider == LOCAL:
        return LocalModel()
    assert spec.api_base is not None
    return ChatCompletionsModel(
        spec.api_base, spec.api_key, spec.model_name, spec.timeout_s, session=session
    )


# --- Shaping rules, shared by both models -------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A stretch of text before it becomes a scene; `weight` sets its share of the time."""

    title: str | None
    text: str
    weight: float


def split_sentences(script: str) -> list[str]:
    """The script's sentences, each keeping its closing punctuation (Chinese 。！？；
    or Latin .!?;), blank ones dropped."""
    return [s.strip() for s in SENTENCE_END.split(script) if s and s.strip()]


def to_piece(sentence: str) -> Piece:
    """A sentence as a piece; a short lead ending in a colon ("第一幕：") is its title."""
    match = HEADING.match(sentence)
    title, text = (match.group(1).strip(), match.group(2).strip()) if match else (None, sentence)
    return Piece(title, text, float(len(text)))


def scene_count_bounds(duration_s: float) -> tuple[int, int]:
    """The fewest and most scenes a video of `duration_s` should have."""
    most = max(1, min(MAX_SCENES, math.floor(duration_s / MIN_SCENE_S)))
    return min(most, math.ceil(duration_s / MAX_SCENE_S)), most


def shape(pieces: list[Piece], duration_s: float) -> list[Piece]:
    """`pieces` merged or split until their number suits `duration_s`."""
    fewest, most = scene_count_bounds(duration_s)
    if len(pieces) > most:
        return [merge(pieces[group]) for group in balanced_groups(pieces, most)]
    shaped = list(pieces)
    while len(shaped) < fewest:
        longest = max(range(len(shaped)), key=lambda i: len(shaped[i].text))
        halves = split_piece(shaped[longest])
        if len(halves) < 2:
            break
        shaped[longest : longest + 1] = halves
    return shaped


def balanced_groups(pieces: list[Piece], count: int) -> list[slice]:
    """`count` runs of consecutive pieces, each non-empty, of about equal total weight."""
    total = sum(p.weight for p in pieces) or 1.0
    cuts, running = [0], 0.0
    for i, piece in enumerate(pieces[:-1]):
        running += piece.weight
        groups_left = count - len(cuts)
        must_cut = len(pieces) - (i + 1) <= groups_left
        if groups_left > 0 and (running >= total * len(cuts) / count or must_cut):
            cuts.append(i + 1)
    return [slice(a, b) for a, b in zip(cuts, [*cuts[1:], len(pieces)], strict=True)]


def merge(pieces: list[Piece]) -> Piece:
    """Consecutive pieces as one: the first title, later titles kept in the text."""
    first, *rest = pieces
    text = "".join([first.text, *(f"{p.title}：{p.text}" if p.title else p.text for p in rest)])
    return Piece(first.title, text, sum(p.weight for p in pieces))


def split_piece(piece: Piece) -> list[Piece]:
    """The piece cut in two nearest its middle: at a clause break, else between words,
    else (Chinese, which needs no spaces) between characters. A piece with nowhere to
    cut stays whole."""
    text = piece.text
    at = _cut_near_middle(text)
    if at is None:
        return [piece]
    halves = (text[:at].strip(), text[at:].strip())
    return [Piece(piece.title, half, piece.weight * len(half) / len(text)) for half in halves]


def _cut_near_middle(text: str) -> int | None:
    middle = len(text) / 2
    for pattern in (CLAUSE_BREAK, WORD_BREAK):
        cuts = [m.start() for m in pattern.finditer(text) if 0 < m.start() < len(text)]
        if cuts:
            return min(cuts, key=lambda c: abs(c - middle))
    return len(text) // 2 if len(text) >= 2 and CJK.search(text) else None


def allot_ms(weights: list[float], total_ms: int, min_ms: int) -> list[int]:
    """Whole milliseconds for each weight, summing exactly to `total_ms`: each gets at least
    `min_ms` (less if there is not enough), the rest shared by weight, remainders going to
    the largest fractions."""
    count = len(weights)
    floor_ms = min(min_ms, total_ms // count)
    spare = total_ms - floor_ms * count
    total_weight = sum(weights) or 1.0
    exact = [spare * w / total_weight for w in weights] if sum(weights) else [spare / count] * count
    shares = [math.floor(e) for e in exact]
    by_fraction = sorted(range(count), key=lambda i: (shares[i] - exact[i], i))
    for i in by_fraction[: spare - sum(shares)]:
        shares[i] += 1
    return [floor_ms + s for s in shares]


def to_scenes(pieces: list[Piece], duration_s: float, script: str) -> list[Scene]:
    """Shaped pieces as scenes lasting `duration_s` in all; untitled ones are numbered in
    the script's language."""
    shaped = shape(pieces, duration_s)
    weights = [max(p.weight, 1.0) for p in shaped]
    millis = allot_ms(weights, round(duration_s * 1000), round(MIN_SCENE_S * 1000))
    name = "场景 {}" if CJK.search(script) else "Scene {}"
    return [
        Scene(p.title or name.format(i), p.text, ms / 1000)
        for i, (p, ms) in enumerate(zip(shaped, millis, strict=True), start=1)
    ]


# --- The two models -----------------------------------------------------------------------


class LocalModel:
    """Expands the text itself, by fixed rules: no network, the same answer every time."""

    def scenes(self, script: str, duration_s: float) -> list[Scene]:
        pieces = [to_piece(s) for s in split_sentences(script)] or [to_piece(script.strip())]
        return to_scenes(pieces, duration_s, script)

    def slides(self, topic: str, outline: list[str]) -> list[Slide]:
        items = [item.strip() for item in outline if item.strip()]
        templates = LOCAL_BULLETS_ZH if CJK.search(topic + "".join(items)) else LOCAL_BULLETS_EN
        cover = Slide(topic, tuple(items))
        return [cover, *(Slide(item, tuple(t.format(item) for t in templates)) for item in items)]


LOCAL_BULLETS_ZH = ("{}的背景与现状", "{}的关键要点", "{}的下一步计划")
LOCAL_BULLETS_EN = ("{}: background", "{}: key points", "{}: next steps")

SCENES_PROMPT = (
    "You turn a video script into scenes. Answer with one JSON object and nothing else: "
    '{"scenes": [{"title": string, "caption": string, "seconds": number}]}. '
    "Captions are short lines shown on screen, in the script's language; the seconds "
    "add up to the video's duration."
)
SLIDES_PROMPT = (
    "You write presentation slides. Answer with one JSON object and nothing else: "
    '{"slides": [{"title": string, "bullets": [string]}]}: a cover slide, then one '
    "slide per outline item with 3 to 5 short bullets, in the topic's language."
)


class _SceneAnswer(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    caption: str = Field(min_length=1, max_length=2000)
    seconds: float | None = Field(default=None, gt=0)


class _ScenesAnswer(BaseModel):
    scenes: list[_SceneAnswer] = Field(min_length=1, max_length=500)


class _SlideAnswer(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    bullets: list[str] = Field(default_factory=list, max_length=20)


class _SlidesAnswer(BaseModel):
    slides: list[_SlideAnswer] = Field(min_length=1, max_length=200)


@dataclass(frozen=True)
class ChatCompletionsModel:
    """A client of an OpenAI-compatible `POST {api_base}/chat/completions` asked for JSON.
    An unreachable endpoint, an HTTP error or an answer that is not the JSON asked for
    raises `ModelUnavailable`. The key is sent only as a bearer token, never logged.
    Through the farm's session, `timeout_s` bounds the whole call (connecting, and the
    answer however slowly it trickles in); through plain requests, each read."""

    api_base: str
    api_key: str = field(repr=False)
    model_name: str
    timeout_s: float = 60.0
    session: requests.Session | None = field(default=None, repr=False, compare=False)

    def scenes(self, script: str, duration_s: float) -> list[Scene]:
        user = f"Duration: {duration_s:g} seconds.\nScript:\n{script}"
        answer = self._answer(SCENES_PROMPT, user, _ScenesAnswer)
        pieces = [
            Piece(s.title.strip(), s.caption.strip(), s.seconds or float(len(s.caption)))
            for s in answer.scenes
        ]
        return to_scenes(pieces, duration_s, script)

    def slides(self, topic: str, outline: list[str]) -> list[Slide]:
        user = f"Topic: {topic}\nOutline:\n" + "\n".join(f"- {item}" for item in outline)
        answer = self._answer(SLIDES_PROMPT, user, _SlidesAnswer)
        return [Slide(s.title.strip(), tuple(b.strip() for b in s.bullets)) for s in answer.slides]

    def answer(self, system: str, user: str, schema: type[Answer]) -> Answer:
        """The model's JSON answer to `user` under `system`, validated by `schema`."""
        return self._answer(system, user, schema)

    def _answer(self, system: str, user: str, schema: type[Answer]) -> Answer:
        content = self._post(request_body(self.model_name, system, user))
        try:
            return schema.model_validate(json.loads(strip_fence(content)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ModelUnavailable(
                f"{self.model_name} did not answer with the JSON asked for"
            ) from exc

    def _post(self, body: dict[str, Any]) -> str:
        url = self.api_base.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {self.api_key}"}
        timeout = (min(CONNECT_TIMEOUT_S, self.timeout_s), self.timeout_s)
        try:
            response = (self.session or requests).post(
                url, json=body, headers=headers, timeout=timeout
            )
        except Exception as exc:
            # Any failure to send: requests' own, or the refusal of the session the farm
            # injects (its SSRF guard). The class name only: the text may quote the request.
            raise ModelUnavailable(
                f"{self.model_name} is unreachable ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise ModelUnavailable(f"{self.model_name} answered HTTP {response.status_code}")
        return message_content(response)


def request_body(model_name: str, system: str, user: str) -> dict[str, Any]:
    """A chat completion request for a JSON answer to `user` under `system`."""
    return {
        "model": model_name,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "response_format": {"type": "json_object"},
        "temperature": 0.3,
    }


def message_content(response: requests.Response) -> str:
    """`choices[0].message.content` of a chat completion, or `ModelUnavailable`."""
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError) as exc:
        raise ModelUnavailable("the model's answer is not a chat completion") from exc
    if not isinstance(content, str):
        raise ModelUnavailable("the model's answer has no text")
    return content


def strip_fence(content: str) -> str:
    """The JSON inside a Markdown code fence, which some models wrap around it anyway."""
    match = FENCE.match(content)
    return match.group(1) if match else content
