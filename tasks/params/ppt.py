"""Params of `ppt`: a topic, its outline, the content model to write the slides with and
an optional theme colour. Validation is pure; nothing is generated here."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from tasks.content import ModelSpec
from tasks.params.colours import normalise_colour

Topic = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OutlineItem = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Colour = Annotated[
    str,
    AfterValidator(normalise_colour),
    Field(description="a named colour (navy_blue, ...) or '#rrggbb'"),
]
DEFAULT_THEME = "#1f4e79"


class PptParams(BaseModel):
    """A deck to build: a title slide for `topic`, one slide per `outline` item, a
    closing slide. `model` None: the deterministic local content model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: Topic = Field(description="the deck's subject, e.g. 产品发布会")
    outline: tuple[OutlineItem, ...] = Field(
        min_length=1, max_length=30, description="one slide per item, in order"
    )
    model: ModelSpec | None = Field(
        default=None, description="the content model; a dialect fills it from its registry"
    )
    model_id: int | None = Field(
        default=None,
        description="a registered model; the worker resolves it into `model` when the job "
        "runs, so its API key is never stored with the job",
    )
    theme: Colour | None = Field(
        default=None, description=f"the accent colour; None: {DEFAULT_THEME}"
    )

    @property
    def theme_colour(self) -> str:
        """The theme colour to draw with: `theme`, else `DEFAULT_THEME`."""
        return self.theme or DEFAULT_THEME
