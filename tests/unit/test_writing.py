"""The writing kind's pure parts: the tools and the local writer."""

from __future__ import annotations

import pytest

from tasks.registry import get_kind
from tasks.writing import TOOLS, WritingParams
from tasks.writing.compose import compose_article, target_length


def test_there_are_fourteen_tools_each_priced() -> None:
    assert len(TOOLS) == 14
    assert all(t.credits_cost > 0 and t.name and t.description for t in TOOLS.values())


def test_the_article_has_a_section_per_keyword_in_the_briefs_language() -> None:
    text = compose_article(
        TOOLS["wechat_article"], "如何提高工作效率", ["时间管理", "效率工具"], ""
    )

    assert text.startswith("# 如何提高工作效率\n")
    assert "## 1、时间管理" in text and "## 2、效率工具" in text
    assert text == compose_article(
        TOOLS["wechat_article"], "如何提高工作效率", ["时间管理", "效率工具"], ""
    )


def test_an_english_brief_without_keywords_writes_about_its_title() -> None:
    text = compose_article(TOOLS["xiaohongshu_note"], "Morning routines", [], "")

    assert "## 1. Morning routines" in text and text.rstrip().endswith("#Morningroutines")


def test_no_paragraph_is_said_twice() -> None:
    text = compose_article(TOOLS["story"], "海边", ["潮汐"], "字数5000字")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]

    assert len(paragraphs) == len(set(paragraphs))


@pytest.mark.parametrize(
    ("requirements", "length"),
    [("字数2000字", 2000), ("about 800 words", 800), ("", 1200), ("99999字", 5000), ("10字", 100)],
)
def test_the_length_asked_for_is_bounded(requirements: str, length: int) -> None:
    assert target_length(TOOLS["wechat_article"], requirements) == length


def test_an_unknown_tool_is_refused() -> None:
    with pytest.raises(ValueError, match="tool_type"):
        WritingParams.model_validate({"tool_type": "sonnet", "title": "t"})
    assert get_kind("writing").queue == "media"
