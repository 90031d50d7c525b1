"""Writing (`media` queue): a writing tool's text from a title, keywords and
requirements, written by a content model (the local writer, or an OpenAI-compatible
chat endpoint registered as a model). The text is the job's result and `article.md`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tasks.content import LOCAL, ChatCompletionsModel, ModelSpec, model_for
from tasks.errors import ModelUnavailable
from tasks.types import JobContext, JobOutcome
from tasks.writing.compose import compose_article, target_length
from tasks.writing.tools import TOOLS, WritingTool

__all__ = ["TOOLS", "WritingParams", "WritingTool", "run_writing"]
ARTICLE_NAME = "article.md"
MAX_ARTICLE_CHARS = 20_000
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
ARTICLE_PROMPT = (
    "You write for Chinese content platforms. Answer with one JSON object and nothing "
    'else: {"content": string}, the full text in Markdown, in the language of the brief, '
    "in the style of the tool named, about the length asked for."
)


class WritingParams(BaseModel):
    """A text to write with the tool `tool_type`. `model` None: the local writer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool_type: str = Field(pattern="^(" + "|".join(TOOLS) + ")$")
    title: str = Field(min_length=1, max_length=200)
    keywords: tuple[Keyword, ...] = Field(default=(), max_length=20)
    requirements: str = Field(default="", max_length=2000)
    model: ModelSpec | None = None
    model_id: int | None = None


class _ArticleAnswer(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_ARTICLE_CHARS)


def write(params: WritingParams, ctx: JobContext) -> str:
    """The text, from the local writer or the registered chat model."""
    tool = TOOLS[params.tool_type]
    keywords = list(params.keywords)
    if params.model is None or params.model.provider == LOCAL:
        return compose_article(tool, params.title, keywords, params.requirements)
    model = model_for(params.model, ctx.http)
    assert isinstance(model, ChatCompletionsModel)
    return model.answer(ARTICLE_PROMPT, brief(tool, params), _ArticleAnswer).content


def brief(tool: WritingTool, params: WritingParams) -> str:
    """What the chat model is asked to write."""
    return (
        f"Tool: {tool.name} ({tool.description})\nTitle: {params.title}\n"
        f"Keywords: {', '.join(params.keywords) or '-'}\n"
        f"Requirements: {params.requirements or '-'}\n"
        f"Length: about {target_length(tool, params.requirements)} characters"
    )


def run_writing(ctx: JobContext) -> JobOutcome:
    """Write the text; the result holds it with its tool, title and length."""
    params = ctx.params
    assert isinstance(params, WritingParams)
    ctx.progress(0, "writing")
    content = write(params, ctx).strip()
    if not content:
        raise ModelUnavailable("the model wrote nothing")
    path = ctx.workdir / ARTICLE_NAME
    path.write_text(content + "\n", encoding="utf-8")
    ctx.progress(100, "written")
    return JobOutcome(result=describe(params, content), outputs=(path,))


def describe(params: WritingParams, content: str) -> dict[str, Any]:
    return {
        "tool_type": params.tool_type,
        "title": params.title,
        "content": content,
        "characters": len(content),
    }
