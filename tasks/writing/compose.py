"""The local writer: an article from a title, keywords and requirements, by fixed
rules (no network, the same text every time). An introduction, a section per keyword
(the title's own words when there are none), a closing; Chinese when the brief is.
A length asked for in the requirements ("字数2000字", "800 words") sets how many
paragraphs each section gets, up to those the writer has (none is said twice). Pure."""

from __future__ import annotations

import re
from typing import Any

from tasks.writing.tools import WritingTool

CJK = re.compile(r"[\u3400-\u9fff]")
LENGTH_ASKED = re.compile(r"(\d{2,5})\s*(?:字|words?|characters?)", re.IGNORECASE)
MIN_LENGTH, MAX_LENGTH = 100, 5000

ZH: dict[str, Any] = {
    "intro": "说到「{title}」，很多人都有自己的体会。本文围绕{topics}展开，把要点讲清楚、讲透彻。",
    "heading": "{n}、{topic}",
    "paragraphs": (
        "{topic}是「{title}」绕不开的一环。先弄清它解决什么问题，再决定投入多少精力。",
        "在{topic}上，最实用的做法是从小处着手：每天固定一段时间，只做一件事，做完再复盘。",
        "很多人在{topic}上走过弯路，原因往往是目标太大。把目标拆成可以当天完成的步骤，效果立竿见影。",
        "关于{topic}，可以记住一个简单的检查：这件事是否让「{title}」更进一步？如果不是，就先放一放。",
        "工具只是辅助。{topic}真正起作用的，是把好的做法变成习惯，让它不再需要意志力。",
        "最后别忘了记录。把{topic}上的尝试和结果写下来，一个月后回看，进步一目了然。",
    ),
    "requirements": "按照要求（{requirements}），下面的内容都可以直接照着做。",
    "closing": "总结一下：{topics}，每一项都不难，难的是坚持。从今天开始，挑一项先做起来。",
}
EN: dict[str, Any] = {
    "intro": 'Everyone has a view on "{title}". This piece walks through {topics}, one at a time.',
    "heading": "{n}. {topic}",
    "paragraphs": (
        '{topic} is where "{title}" starts. Know what it solves before deciding what to spend.',
        "With {topic}, start small: a fixed slot each day, one thing at a time, then review.",
        "Most detours in {topic} come from goals that are too big; cut them into steps for today.",
        'A simple test for {topic}: does it move "{title}" forward? If not, set it aside.',
        "Tools only help. What makes {topic} work is turning good practice into habit.",
        "Keep a record of what you try with {topic}; a month later the progress is plain.",
    ),
    "requirements": "As asked ({requirements}), everything below can be put to use directly.",
    "closing": "To sum up: {topics}. None of it is hard; keeping at it is. Pick one today.",
}


def target_length(tool: WritingTool, requirements: str) -> int:
    """The length to write to: the one the requirements ask for, else the tool's."""
    asked = LENGTH_ASKED.search(requirements)
    length = int(asked.group(1)) if asked else tool.words
    return max(MIN_LENGTH, min(MAX_LENGTH, length))


def topics_of(title: str, keywords: list[str], tool: WritingTool) -> list[str]:
    """The sections' topics: the keywords, else the title itself, at most the tool's."""
    cleaned = [k.strip() for k in keywords if k.strip()]
    return (cleaned or [title.strip()])[: tool.sections]


def compose_article(tool: WritingTool, title: str, keywords: list[str], requirements: str) -> str:
    """The article as Markdown: a heading, an introduction, sections, a closing."""
    words = ZH if CJK.search(title + "".join(keywords) + requirements) else EN
    topics = topics_of(title, keywords, tool)
    joined = ("、" if words is ZH else ", ").join(topics)
    intro = words["intro"].format(title=title, topics=joined)
    if requirements.strip():
        intro += words["requirements"].format(requirements=requirements.strip())
    budget = target_length(tool, requirements) - len(intro)
    sections = [
        section(words, title, topic, n, budget // len(topics)) for n, topic in enumerate(topics, 1)
    ]
    closing = words["closing"].format(topics=joined)
    parts = [f"# {title}", intro, *sections, closing]
    if tool.hashtags:
        parts.append(" ".join(f"#{t.replace(' ', '')}" for t in dict.fromkeys([title, *topics])))
    return "\n\n".join(parts) + "\n"


def section(words: dict[str, Any], title: str, topic: str, n: int, budget: int) -> str:
    """A heading and paragraphs on `topic`, enough to fill `budget` characters (one at
    least, each said once)."""
    heading = words["heading"].format(n=n, topic=topic)
    paragraphs: list[str] = []
    for template in words["paragraphs"]:
        paragraphs.append(template.format(topic=topic, title=title))
        if sum(len(p) for p in paragraphs) >= budget:
            break
    return "\n\n".join([f"## {heading}", *paragraphs])
