"""Pictures (`design` queue): a prompt and a size (`1024x1024`) → `image.png`, drawn by
the farm's generative artwork (`tasks.image.render`) for a local model, or by an
OpenAI-compatible images endpoint registered as a model (`tasks.image.remote`)."""

from __future__ import annotations

from tasks.content import LOCAL
from tasks.image.remote import ImagesModel
from tasks.image.render import picture_style, render_picture
from tasks.params.image import ImageParams, parse_size
from tasks.types import JobContext, JobOutcome

__all__ = ["ImageParams", "parse_size", "run_image"]
IMAGE_NAME = "image.png"


def run_image(ctx: JobContext) -> JobOutcome:
    """Draw the picture; the result holds its size and the style read from the prompt."""
    params = ctx.params
    assert isinstance(params, ImageParams)
    width, height = parse_size(params.size)
    ctx.progress(0, "drawing")
    path = ctx.workdir / IMAGE_NAME
    spec = params.model
    if spec is None or spec.provider == LOCAL:
        picture = render_picture(params.prompt, width, height, params.seed)
        style = picture_style(params.prompt, params.seed)
        drawn_by = {"motif": str(style.motif), "mood": style.mood}
    else:
        assert spec.api_base is not None
        model = ImagesModel(spec.api_base, spec.api_key, spec.model_name, spec.timeout_s, ctx.http)
        picture, drawn_by = model.draw(params.prompt, width, height), {"model": spec.model_name}
    picture.save(path, "PNG", optimize=True)
    ctx.progress(100, "drawn")
    return JobOutcome(result={"width": width, "height": height, **drawn_by}, outputs=(path,))
