"""The content models: the local model's scene and slide rules, and the chat completions
client against a real HTTP server speaking the protocol."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from pydantic import ValidationError

from tasks.content import (
    ChatCompletionsModel,
    LocalModel,
    ModelSpec,
    Piece,
    Scene,
    Slide,
    allot_ms,
    model_for,
    scene_count_bounds,
    shape,
    split_sentences,
    to_piece,
)
from tasks.errors import ModelUnavailable, PermanentError
from tests.chat_server import ChatServer, serve_chat

ACTS = "第一幕：清晨的城市醒来。第二幕：人们走进地铁。第三幕：夜晚灯火通明。"


@pytest.mark.parametrize(
    ("script", "sentences"),
    [
        (ACTS, ["第一幕：清晨的城市醒来。", "第二幕：人们走进地铁。", "第三幕：夜晚灯火通明。"]),
        ("你好！真的吗？是的；好", ["你好！", "真的吗？", "是的；", "好"]),
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("It costs 3.5 yuan. Fine", ["It costs 3.5 yuan.", "Fine"]),
        ("line one\n\nline two", ["line one", "line two"]),
        ("  \n ", []),
    ],
)
def test_split_sentences_keeps_their_punctuation(script: str, sentences: list[str]) -> None:
    assert split_sentences(script) == sentences


@pytest.mark.parametrize(
    ("sentence", "title", "text"),
    [
        ("第一幕：清晨的城市醒来。", "第一幕", "清晨的城市醒来。"),
        ("Act 1: the city wakes.", "Act 1", "the city wakes."),
        ("清晨的城市醒来。", None, "清晨的城市醒来。"),
        ("这是一个很长很长很长很长的开头：后文", None, "这是一个很长很长很长很长的开头：后文"),
    ],
)
def test_a_short_lead_before_a_colon_is_the_title(
    sentence: str, title: str | None, text: str
) -> None:
    piece = to_piece(sentence)
    assert (piece.title, piece.text) == (title, text)


@pytest.mark.parametrize(
    ("duration_s", "bounds"),
    [(1, (1, 1)), (4, (1, 2)), (12, (2, 6)), (30, (3, 15)), (600, (60, 60))],
)
def test_scene_count_bounds(duration_s: float, bounds: tuple[int, int]) -> None:
    assert scene_count_bounds(duration_s) == bounds


@pytest.mark.parametrize(
    ("weights", "total_ms", "min_ms", "shares"),
    [
        ([1, 1, 1], 12000, 2000, [4000, 4000, 4000]),
        ([1, 1, 1], 1000, 2000, [334, 333, 333]),
        ([3, 1], 10000, 2000, [6500, 3500]),
        ([0, 0], 5001, 2000, [2501, 2500]),
        ([5], 7777, 2000, [7777]),
    ],
)
def test_allot_ms_shares_by_weight_above_a_floor(
    weights: list[float], total_ms: int, min_ms: int, shares: list[int]
) -> None:
    assert allot_ms(weights, total_ms, min_ms) == shares


@pytest.mark.parametrize("duration_s", [1, 3.3, 10.2, 12, 59.999, 600])
@pytest.mark.parametrize("script", [ACTS, "One. Two, three and four! Five", "一" * 3000])
def test_local_scene_durations_sum_to_the_duration(script: str, duration_s: float) -> None:
    scenes = LocalModel().scenes(script, duration_s)
    assert sum(round(s.seconds * 1000) for s in scenes) == round(duration_s * 1000)
    assert math.isclose(math.fsum(s.seconds for s in scenes), duration_s, abs_tol=1e-9)
    _fewest, most = scene_count_bounds(duration_s)
    assert len(scenes) <= most


def test_local_model_is_deterministic() -> None:
    assert LocalModel().scenes(ACTS, 12) == LocalModel().scenes(ACTS, 12)
    assert LocalModel().slides("产品发布会", ["产品介绍"]) == LocalModel().slides(
        "产品发布会", ["产品介绍"]
    )


def test_local_scenes_of_the_acts_script_are_its_acts() -> None:
    scenes = LocalModel().scenes(ACTS, 12)
    assert [(s.title, s.caption) for s in scenes] == [
        ("第一幕", "清晨的城市醒来。"),
        ("第二幕", "人们走进地铁。"),
        ("第三幕", "夜晚灯火通明。"),
    ]


def test_too_many_sentences_merge_keeping_all_text_in_order() -> None:
    sentences = [f"句子{i}。" for i in range(20)]
    pieces = shape([to_piece(s) for s in sentences], 12)
    assert len(pieces) == 6
    assert "".join(p.text for p in pieces) == "".join(sentences)


def test_too_few_sentences_split_at_clause_breaks() -> None:
    pieces = shape([Piece(None, "清晨，城市，醒来，人们，出门，上班。", 18)], 40)
    assert len(pieces) == 4
    assert "".join(p.text for p in pieces) == "清晨，城市，醒来，人们，出门，上班。"
    assert all(p.text for p in pieces)


def test_untitled_scenes_are_numbered_in_the_script_language() -> None:
    assert [s.title for s in LocalModel().scenes("城市。地铁。", 8)] == ["场景 1", "场景 2"]
    assert [s.title for s in LocalModel().scenes("City. Metro.", 8)] == ["Scene 1", "Scene 2"]


def test_local_slides_are_a_cover_then_one_per_outline_item() -> None:
    slides = LocalModel().slides("产品发布会", ["产品介绍", " ", "核心功能"])
    assert slides[0] == Slide("产品发布会", ("产品介绍", "核心功能"))
    assert [s.title for s in slides[1:]] == ["产品介绍", "核心功能"]
    assert all(len(s.bullets) == 3 and s.title in s.bullets[0] for s in slides[1:])


def test_model_for_picks_local_without_a_remote_spec() -> None:
    assert isinstance(model_for(None), LocalModel)
    assert isinstance(model_for(ModelSpec()), LocalModel)
    remote = ModelSpec(provider="qwen", api_base="http://h/v1", model_name="qwen-max")
    assert isinstance(model_for(remote), ChatCompletionsModel)


def test_a_remote_spec_needs_an_endpoint_and_hides_its_key() -> None:
    with pytest.raises(ValidationError):
        ModelSpec(provider="qwen", model_name="qwen-max")
    spec = ModelSpec(provider="qwen", api_base="http://h", model_name="q", api_key="sk-secret")
    assert "sk-secret" not in repr(spec)
    assert "sk-secret" not in repr(model_for(spec))


# --- The chat completions client against a real server ---------------------------------


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    with serve_chat() as state:
        yield state


def client(url: str) -> ChatCompletionsModel:
    return ChatCompletionsModel(url, "sk-test", "qwen-max", timeout_s=5)


def test_chat_request_carries_model_roles_and_bearer_key(chat_server: ChatServer) -> None:
    chat_server.content = json.dumps({"scenes": [{"title": "晨", "caption": "城市醒来"}]})
    client(chat_server.url).scenes(ACTS, 12)
    [request] = chat_server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["json"]
    assert body["model"] == "qwen-max"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert ACTS in body["messages"][1]["content"]
    assert body["response_format"] == {"type": "json_object"}


def test_chat_scenes_are_the_answer_fitted_to_the_duration(chat_server: ChatServer) -> None:
    answer = [
        {"title": "清晨", "caption": "城市醒来", "seconds": 3},
        {"title": "地铁", "caption": "人们出发", "seconds": 1},
    ]
    chat_server.content = "```json\n" + json.dumps({"scenes": answer}) + "\n```"
    scenes = client(chat_server.url).scenes(ACTS, 10)
    assert scenes == [Scene("清晨", "城市醒来", 6.5), Scene("地铁", "人们出发", 3.5)]


def test_chat_slides_are_the_answer(chat_server: ChatServer) -> None:
    answer = [
        {"title": "产品发布会", "bullets": []},
        {"title": "核心功能", "bullets": ["快", "稳"]},
    ]
    chat_server.content = json.dumps({"slides": answer})
    slides = client(chat_server.url).slides("产品发布会", ["核心功能"])
    assert slides == [Slide("产品发布会", ()), Slide("核心功能", ("快", "稳"))]
    assert "核心功能" in chat_server.requests[0]["json"]["messages"][1]["content"]


@pytest.mark.parametrize(
    ("content", "status", "body"),
    [
        ("not json at all", 200, None),
        (json.dumps({"scenes": []}), 200, None),
        (json.dumps({"scenes": [{"title": "", "caption": "x"}]}), 200, None),
        (json.dumps({"slides": [{"title": "x"}]}), 200, None),
        ("", 200, b"<html>gateway</html>"),
        ("", 200, b'{"choices": []}'),
        ("", 500, b'{"error": "overloaded"}'),
    ],
)
def test_a_malformed_answer_is_model_unavailable(
    chat_server: ChatServer, content: str, status: int, body: bytes | None
) -> None:
    chat_server.content, chat_server.status, chat_server.body = content, status, body
    with pytest.raises(ModelUnavailable) as caught:
        client(chat_server.url).scenes(ACTS, 12)
    assert caught.value.code == "model_unavailable"
    assert isinstance(caught.value, PermanentError)


def test_an_unreachable_endpoint_is_model_unavailable() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_port
    with pytest.raises(ModelUnavailable, match="unreachable") as caught:
        client(f"http://127.0.0.1:{port}/v1").slides("主题", ["一"])
    assert "sk-test" not in str(caught.value)


class RefusingSession(requests.Session):
    """A session whose guard refuses every address, as the farm's does for internal ones."""

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        raise PermissionError("refused: a non-public address")


def test_a_refusal_by_the_injected_session_is_model_unavailable() -> None:
    spec = ModelSpec(provider="openai", model_name="m", api_base="http://10.0.0.1/v1")

    with pytest.raises(ModelUnavailable, match="unreachable"):
        model_for(spec, RefusingSession()).slides("topic", ["one"])
