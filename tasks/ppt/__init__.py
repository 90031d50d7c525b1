"""Slide decks (`media` queue): a topic and its outline → `deck.pptx`, written by a content
model: a title slide, one slide per outline item and a closing slide."""

from __future__ import annotations

from typing import Any

from tasks.content import Slide, model_for
from tasks.design.colours import colour_rgb
from tasks.errors import ModelUnavailable
from tasks.params.ppt import PptParams
from tasks.ppt.deck import add_slide, new_deck, plan_deck, save_deck
from tasks.types import JobContext, JobOutcome

__all__ = ["PptParams", "run_ppt"]
DECK_NAME = "deck.pptx"
CONTENT_DONE = 20.0  # percent of the job spent once the model has answered
SLIDES_DONE = 95.0  # the rest is saving


def run_ppt(ctx: JobContext) -> JobOutcome:
    """Have `ctx.params.model` write the slides, then `deck.pptx` in the work directory;
    the result holds the slide count and every slide's title as written."""
    params = ctx.params
    assert isinstance(params, PptParams)
    ctx.progress(0, "content")
    slides = model_for(params.model, ctx.http).slides(params.topic, list(params.outline))
    check_slide_count(slides, params.outline)
    ctx.progress(CONTENT_DONE, "content")
    deck, theme, titles = new_deck(), colour_rgb(params.theme_colour), []
    plans = plan_deck(slides)
    for number, plan in enumerate(plans, start=1):
        titles.append(add_slide(deck, plan, theme))
        share = (SLIDES_DONE - CONTENT_DONE) * number / len(plans)
        ctx.progress(CONTENT_DONE + share, f"slide {number}/{len(plans)}")
    path = save_deck(deck, ctx.workdir / DECK_NAME)
    ctx.progress(100, "saved")
    return JobOutcome(result=describe(titles), outputs=(path,))


def check_slide_count(slides: list[Slide], outline: tuple[str, ...]) -> None:
    """`ModelUnavailable` unless the model gave a cover and one slide per outline item."""
    if len(slides) != len(outline) + 1:
        raise ModelUnavailable(
            f"the model wrote {len(slides)} slides for a cover and {len(outline)} outline items"
        )


def describe(titles: list[str]) -> dict[str, Any]:
    """The job's result: how many slides the deck has and their titles, in order."""
    return {"slides": len(titles), "titles": titles}
