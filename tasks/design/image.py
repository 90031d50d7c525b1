"""The customer's image for an `image` pattern: opened only if it is a real raster image
of bounded size, so a decompression bomb or a renamed file fails cleanly as InvalidInput.

The API reads only an image's header (`read_image_facts`); decoding its pixels
(`load_design_image`) is the worker's job, under the job's memory cap."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from tasks.errors import InvalidInput

RASTER_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"}
# 8,000 × 6,000: a 48-megapixel camera's picture; a 14 × 19 in print at 300 dpi needs 24 M.
MAX_SOURCE_PIXELS = 48_000_000
# Larger sources are shrunk to this before drawing: past it, a print gains nothing.
MAX_WORKING_PIXELS = 24_000_000
EXIF_ORIENTATION = 0x0112
QUARTER_TURNS = {5, 6, 7, 8}  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class ImageFacts:
    """What an image's header says: its upright size in pixels. Enough to place it and
    judge its resolution, without decoding a pixel."""

    width: int
    height: int

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def read_image_facts(source: Path) -> ImageFacts:
    """The facts of the image file `source`, from its header alone: Pillow opens lazily
    and nothing here loads, converts or resizes. Raises InvalidInput as
    `load_design_image` does for a missing, unreadable or oversized image."""
    if not source.is_file() or source.stat().st_size == 0:
        raise InvalidInput("the image pattern's file is missing or empty")
    try:
        with Image.open(source) as image:
            width, height = _checked_size(image)
            turned = _orientation(image) in QUARTER_TURNS
    except InvalidInput:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InvalidInput(
            f"the image pattern's file is not a readable raster image: {exc}"
        ) from None
    return ImageFacts(height, width) if turned else ImageFacts(width, height)


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation the header carries (1, upright, if none). A PNG's eXIf chunk
    may follow its pixels; Pillow would decode them to find it, so only one met before
    them counts."""
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    return int(image.getexif().get(EXIF_ORIENTATION, 1))


def load_design_image(
    source: Path | Image.Image, working_pixels: int = MAX_WORKING_PIXELS
) -> tuple[Image.Image, tuple[int, int]]:
    """The image (a file, or one Pillow has opened but not decoded) as RGBA, upright as
    its EXIF orientation says and shrunk to at most `working_pixels`, and its own size
    in pixels before any shrinking.

    Raises InvalidInput if the file is missing, empty, not a raster image, or declares
    more than `MAX_SOURCE_PIXELS` (checked from its header, before any decoding).
    """
    if isinstance(source, Image.Image):
        return _guarded(source, working_pixels)
    if not source.is_file() or source.stat().st_size == 0:
        raise InvalidInput("the image pattern's file is missing or empty")
    try:
        image = Image.open(source)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidInput(
            f"the image pattern's file is not a readable raster image: {exc}"
        ) from None
    with image:
        return _guarded(image, working_pixels)


def _guarded(image: Image.Image, working_pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    try:
        return _decoded(image, working_pixels)
    except InvalidInput:
        raise
    except (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise InvalidInput(
            f"the image pattern's file is not a readable raster image: {exc}"
        ) from None


def _checked_size(image: Image.Image) -> tuple[int, int]:
    """The size an opened (not decoded) image declares; InvalidInput unless it is a
    raster format we take, of at most `MAX_SOURCE_PIXELS`."""
    if image.format not in RASTER_FORMATS:
        raise InvalidInput(
            f"the image pattern's file is {image.format}; send PNG, JPEG, WebP, GIF, BMP or TIFF"
        )
    width, height = image.size
    if width * height > MAX_SOURCE_PIXELS or width < 1 or height < 1:
        raise InvalidInput(
            f"the image is {width} × {height} pixels; the most taken is {MAX_SOURCE_PIXELS:,}"
        )
    return width, height


def _decoded(image: Image.Image, working_pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    width, height = _checked_size(image)
    if image.format == "JPEG" and width * height > working_pixels:
        # JPEG decodes at 1/2, 1/4 or 1/8 scale far faster than at full size
        scale = (width * height / working_pixels) ** 0.5
        image.draft("RGB", (int(width / scale), int(height / scale)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image.load()
    upright = ImageOps.exif_transpose(image)
    turned = upright.size != image.size  # a quarter turn swaps the sides
    size = (height, width) if turned else (width, height)
    rgba = upright.convert("RGBA")
    if rgba.width * rgba.height > working_pixels:
        factor = (rgba.width * rgba.height / working_pixels) ** 0.5
        shrunk = (max(1, int(rgba.width / factor)), max(1, int(rgba.height / factor)))
        rgba = rgba.resize(shrunk, Image.Resampling.BOX)
    return rgba, size
