"""The `design` job kind: its params, its preview and print files, generated artwork,
text in Chinese, image patterns and the inputs it refuses."""

from __future__ import annotations

import io
import itertools
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFile
from pydantic import ValidationError

from config.settings import DEFAULT_TIME_LIMITS
from tasks.design import DesignParams, run_design
from tasks.design.image import ImageFacts, load_design_image, read_image_facts
from tasks.design.lettering import FONT_PATH, NOT_A_CHARACTER, glyph_bitmap, missing_glyphs
from tasks.design.prompt_style import Dice, Motif, motif_and_mood, prompt_digest, style_for
from tasks.errors import InfeasibleDesign, InvalidInput
from tasks.registry import get_kind
from tasks.types import JobContext, JobOutcome

TWENTY_PROMPTS = [
    "科技感线条",
    "ocean waves",
    "星空",
    "mountain sunrise",
    "花",
    "hello world",
    "cyber city",
    "voronoi crystal",
    "复古 sunset",
    "水墨 山",
    "rainbow stars",
    "几何 triangles",
    "pop art dots",
    "forest leaf",
    "fire flame",
    "grid blocks",
    "ripple rings",
    "abstract 42",
    "我的猫",
    "minimal",
]


def params(**overrides: Any) -> DesignParams:
    """The seed's own example (a navy t-shirt, 科技感线条), changed by `overrides`."""
    fields: dict[str, Any] = {
        "product_type": "t_shirt",
        "color": "navy_blue",
        "pattern": {"type": "ai_generate", "prompt": "科技感线条"},
    }
    return DesignParams.model_validate({**fields, **overrides})


def design(workdir: Path, inputs: tuple[Path, ...] = (), **overrides: Any) -> JobOutcome:
    workdir.mkdir(parents=True, exist_ok=True)
    return run_design(JobContext(params=params(**overrides), workdir=workdir, inputs=inputs))


def write_image(path: Path, width: int, height: int, mode: str = "RGB") -> Path:
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x * y) % 256], -1)
    Image.fromarray(rgb.astype(np.uint8), "RGB").convert(mode).save(path)
    return path


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` × `height` pixels: a decompression bomb."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR's width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


# Params


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"product_type": "sweater"}, "unknown product_type 'sweater'; choose one of t_shirt"),
        (
            {"color": "bleu"},
            "unknown color 'bleu'; use '#rrggbb' or a name such as white, black, navy_blue",
        ),
        ({"color": "#12345"}, "unknown color '#12345'"),
        ({"pattern": {"type": "solid", "color": "mauve-ish"}}, "unknown color 'mauve-ish'"),
        (
            {"size": "XXXL"},
            "size 'XXXL' does not exist for t_shirt; choose one of XS, S, M, L, XL, XXL",
        ),
        ({"product_type": "tote_bag", "size": "M"}, "choose one of ONE_SIZE"),
        ({"product_type": "tote_bag", "placement": "left_chest"}, "not offered on tote_bag"),
        ({"placement": "back"}, "unknown placement 'back'"),
        ({"print_process": "sublimation"}, "unknown print_process 'sublimation'"),
        ({"pattern": {"type": "ai_generate", "prompt": ""}}, "at least 1 character"),
        ({"pattern": {"type": "ai_generate", "prompt": "长" * 201}}, "at most 200 characters"),
        ({"pattern": {"type": "stripes", "colors": ["red"]}}, "at least 2 items"),
        ({"pattern": {"type": "stripes", "colors": ["red"] * 7}}, "at most 6 items"),
        ({"pattern": {"type": "gradient"}}, "does not match any of the expected tags"),
        ({"text": {"content": "字" * 61}}, "at most 60 characters"),
        ({"scale": 3}, "less than or equal to 2"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
        (
            {"pattern": {"type": "image", "file_id": "f", "url": "x"}},
            "Extra inputs are not permitted",
        ),
    ],
)
def test_invalid_params_are_refused_with_a_message_naming_the_fault(
    overrides: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        params(**overrides)

    assert says in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        ({}, "size", "M"),
        ({"product_type": "tote_bag"}, "size", "ONE_SIZE"),
        ({"size": "xl"}, "size", "XL"),
        ({"color": "Navy Blue"}, "color", "navy_blue"),
        ({"color": "#FFAA00"}, "color", "#ffaa00"),
        ({}, "print_process", "dtg"),
        ({}, "placement", "front_center"),
        ({"pattern": {"type": "ai_generate", "prompt": "x"}}, "pattern.seed", 0),
    ],
)
def test_defaults_and_normal_forms(overrides: dict[str, Any], field: str, value: object) -> None:
    got: Any = params(**overrides)
    for part in field.split("."):
        got = getattr(got, part)

    assert got == value


def test_the_design_kind_is_registered_on_its_own_queue() -> None:
    kind = get_kind("design")

    assert (kind.queue, kind.params, kind.takes_input) == ("design", DesignParams, False)
    assert DEFAULT_TIME_LIMITS["design"].soft_s == 120


# The files


@pytest.mark.parametrize(
    ("overrides", "print_size"),
    [
        ({}, (3600, 4800)),
        ({"size": "XS"}, (3024, 4032)),
        ({"placement": "full_front"}, (4200, 5700)),
        ({"product_type": "hoodie", "placement": "left_chest"}, (1200, 1200)),
        ({"product_type": "hoodie"}, (3600, 3000)),
        ({"product_type": "tote_bag", "placement": "full_front"}, (3900, 4050)),
    ],
    ids=[
        "tee M",
        "tee XS",
        "tee full front",
        "hoodie left chest",
        "hoodie front",
        "tote full front",
    ],
)
def test_a_preview_and_a_300_dpi_print_of_the_print_area(
    overrides: dict[str, Any], print_size: tuple[int, int], tmp_path: Path
) -> None:
    outcome = design(tmp_path, **overrides)

    preview_path, print_path = outcome.outputs
    assert (preview_path.name, print_path.name) == ("preview.png", "print.png")
    preview, printed = Image.open(preview_path), Image.open(print_path)
    assert (preview.size, preview.mode) == ((1024, 1024), "RGB")
    assert printed.size == print_size
    assert printed.mode == "P" and printed.info["transparency"] == 0
    assert printed.info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_where_no_ink_goes_the_print_is_transparent(tmp_path: Path) -> None:
    outcome = design(tmp_path, pattern={"type": "solid", "color": "yellow"}, scale=0.5)

    alpha = np.asarray(Image.open(outcome.outputs[1]).convert("RGBA"))[:, :, 3]
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0
    assert alpha[2400, 1800] == 255
    assert (alpha == 255).mean() == pytest.approx(0.25, abs=0.01)


def test_the_preview_shows_the_garment_colour_and_the_design(tmp_path: Path) -> None:
    outcome = design(tmp_path, color="red", pattern={"type": "solid", "color": "yellow"}, scale=0.5)

    pixels = np.asarray(Image.open(outcome.outputs[0])).astype(int)
    red = (pixels[:, :, 0] > 120) & (pixels[:, :, 1] < 60)
    yellow = (pixels[:, :, 0] > 180) & (pixels[:, :, 1] > 150) & (pixels[:, :, 2] < 110)
    assert 0.2 < red.mean() < 0.6
    assert 0.02 < yellow.mean() < 0.08
    assert pixels[5, 5].tolist() == pytest.approx([244, 244, 242], abs=3)  # the backdrop


def test_the_result_describes_product_readiness_materials_and_print_area(tmp_path: Path) -> None:
    outcome = design(
        tmp_path, color="white", pattern={"type": "solid", "color": "#0000ff"}, scale=0.5
    )

    assert outcome.result == {
        "product_type": "t_shirt",
        "size": "M",
        "color": "#ffffff",
        "print_process": "dtg",
        "placement": "front_center",
        "production_ready": True,
        "materials": [
            {"type": "fabric", "code": "FB-025", "consumption": "1.2m"},
            {"type": "ink", "code": "INK-DTG-C", "consumption": "1.0ml"},
            {"type": "ink", "code": "INK-DTG-M", "consumption": "1.0ml"},
        ],
        "warnings": [],
        "print_area": {"width_in": 12.0, "height_in": 16.0, "dpi": 300},
        "colour_count": 1,
    }


def test_progress_is_reported_at_each_stage(tmp_path: Path) -> None:
    stages: list[str] = []
    ctx = JobContext(
        params=params(), workdir=tmp_path, progress=lambda c, stage: stages.append(stage)
    )

    run_design(ctx)

    assert stages == ["artwork", "preview", "print", "materials"]


def test_a_warning_is_delivered_with_the_design(tmp_path: Path) -> None:
    outcome = design(tmp_path, text={"content": "夜", "color": "#1f2a45"})

    assert outcome.result["production_ready"] is False
    assert "too close to the fabric colour" in outcome.result["warnings"][0]
    assert len(outcome.outputs) == 2


def test_an_infeasible_design_fails_with_its_reasons_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InfeasibleDesign) as caught:
        design(
            tmp_path,
            scale=1.5,
            print_process="screen",
            pattern={"type": "ai_generate", "prompt": "rainbow"},
        )

    assert caught.value.code == "infeasible_design"
    assert len(caught.value.reasons) == 2
    assert caught.value.details == {"reasons": caught.value.reasons}
    assert caught.value.message == "; ".join(caught.value.reasons)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"text": {"content": "科技 Tech"}},
        {
            "product_type": "hoodie",
            "pattern": {"type": "stripes", "colors": ["red", "white"], "angle_deg": 30},
        },
        {
            "product_type": "tote_bag",
            "pattern": {"type": "ai_generate", "prompt": "星空", "seed": 7},
        },
    ],
    ids=["generated with text", "stripes", "tote"],
)
def test_the_same_request_twice_gives_byte_identical_files(
    overrides: dict[str, Any], tmp_path: Path
) -> None:
    first = design(tmp_path / "a", **overrides)
    second = design(tmp_path / "b", **overrides)

    for one, two in zip(first.outputs, second.outputs, strict=True):
        assert one.read_bytes() == two.read_bytes()
    assert first.result == second.result


def test_an_image_design_twice_gives_byte_identical_files(tmp_path: Path) -> None:
    source = write_image(tmp_path / "art.png", 900, 700)
    request = {"pattern": {"type": "image", "file_id": "f1"}, "placement": "left_chest"}

    first = design(tmp_path / "a", inputs=(source,), **request)
    second = design(tmp_path / "b", inputs=(source,), **request)

    assert [p.read_bytes() for p in first.outputs] == [p.read_bytes() for p in second.outputs]


def test_twenty_prompts_give_twenty_visibly_different_previews(tmp_path: Path) -> None:
    greys = []
    for n, prompt in enumerate(TWENTY_PROMPTS):
        outcome = design(
            tmp_path / str(n), color="white", pattern={"type": "ai_generate", "prompt": prompt}
        )
        preview = (
            Image.open(outcome.outputs[0])
            .convert("L")
            .resize((256, 256), Image.Resampling.BILINEAR)
        )
        greys.append(np.asarray(preview, np.float32))

    # The garment is the same in all twenty, so all difference is the design's, whose
    # print area is 15 % of the preview. Two grey levels over the whole preview are
    # 13 levels over the print area: a fifth of the design changed by a quarter of the
    # grey scale, which no eye misses; identical renders differ by 0.
    differences = {
        (a, b): float(np.abs(greys[a] - greys[b]).mean())
        for a, b in itertools.combinations(range(20), 2)
    }
    least = min(differences, key=differences.__getitem__)
    assert differences[least] > 2.0, [TWENTY_PROMPTS[n] for n in least]


# Generated artwork


@pytest.mark.parametrize(
    ("prompt", "motif", "mood"),
    [
        ("科技感线条", Motif.CIRCUITS, "neon"),
        ("线条", Motif.LINES, "neon"),
        ("ocean waves at dusk", Motif.WAVES, "ocean"),
        ("海", Motif.WAVES, "ocean"),
        ("星空", Motif.STARS, "night"),
        ("a bunch of flowers", Motif.PETALS, "floral"),
        ("red flower", Motif.PETALS, "fire"),
        ("Mountain Sunrise", Motif.MOUNTAINS, "earth"),
        ("水墨山水", Motif.MOUNTAINS, "ink"),
        ("spring festival", None, None),  # 'ring' starts no word here
    ],
)
def test_prompt_words_steer_the_motif_and_palette(
    prompt: str, motif: Motif | None, mood: str | None
) -> None:
    found_motif, found_mood = motif_and_mood(prompt, Dice(prompt_digest(prompt, 0)))

    if motif is None:
        assert found_motif is not Motif.RIPPLES
    else:
        assert (found_motif, found_mood) == (motif, mood)


def test_a_style_depends_on_prompt_and_seed_alone() -> None:
    navy = (31, 42, 68)

    assert style_for("科技感线条", 0, navy) == style_for("科技感线条", 0, navy)
    assert style_for("科技感线条", 0, navy) != style_for("科技感线条", 1, navy)
    assert prompt_digest("Ocean  Waves", 3) == prompt_digest("ocean waves", 3)


@pytest.mark.parametrize(
    ("overrides", "most"),
    [
        ({"pattern": {"type": "ai_generate", "prompt": "rainbow"}, "max_colors": 3}, 3),
        (
            {
                "pattern": {"type": "stripes", "colors": ["red", "#c00000", "white", "navy_blue"]},
                "max_colors": 2,
            },
            2,
        ),
        (
            {
                "pattern": {"type": "ai_generate", "prompt": "rainbow"},
                "max_colors": 2,
                "text": {"content": "A"},
            },
            2,
        ),
    ],
)
def test_max_colors_reduces_the_inks(overrides: dict[str, Any], most: int, tmp_path: Path) -> None:
    outcome = design(tmp_path, **overrides)

    assert 1 <= outcome.result["colour_count"] <= most
    used = np.unique(np.asarray(Image.open(outcome.outputs[1])))
    assert len(set(used.tolist()) - {0}) <= most


# Text in Chinese


def test_the_font_ships_with_its_licence() -> None:
    assert FONT_PATH.is_file() and FONT_PATH.stat().st_size > 5_000_000
    assert "SIL OPEN FONT LICENSE" in (FONT_PATH.parent / "OFL.txt").read_text()


@pytest.mark.parametrize("ch", [*"科技感线条你好世界龘", "A", "é"])
def test_chinese_renders_as_real_glyphs_not_boxes(ch: str) -> None:
    bitmap = glyph_bitmap(ch)

    assert bitmap != glyph_bitmap(NOT_A_CHARACTER)
    assert any(bitmap)


def test_characters_the_font_lacks_are_named() -> None:
    assert missing_glyphs("科技 Tech 😀") == ["😀"]


def test_the_text_is_set_in_ink_under_the_artwork(tmp_path: Path) -> None:
    outcome = design(
        tmp_path, pattern={"type": "solid", "color": "red"}, text={"content": "科技感线条"}
    )

    printed = Image.open(outcome.outputs[1])
    band = np.asarray(printed)[int(4800 * 0.84) :]  # the text's band: the artwork's bottom 16 %
    assert (printed.getpalette() or [])[3 * 2 : 3 * 3] == [255, 255, 255]  # white on navy
    assert 0.1 < (band == 2).mean() < 0.6


# Image patterns


def test_an_image_pattern_prints_the_image_fitted_into_the_area(tmp_path: Path) -> None:
    source = write_image(tmp_path / "art.png", 1800, 1800)

    outcome = design(tmp_path / "out", inputs=(source,), pattern={"type": "image", "file_id": "f1"})

    printed = Image.open(outcome.outputs[1])
    assert (printed.mode, printed.size) == ("RGBA", (3600, 4800))
    alpha = np.asarray(printed)[:, :, 3]
    assert alpha[100, 1800] == 255 and alpha[4700, 1800] == 0  # square art atop a tall area
    assert outcome.result["production_ready"] is True


def test_an_image_reduced_to_spot_colours_prints_as_indices(tmp_path: Path) -> None:
    source = write_image(tmp_path / "art.png", 1200, 1600)

    outcome = design(
        tmp_path / "out",
        inputs=(source,),
        pattern={"type": "image", "file_id": "f1"},
        placement="left_chest",
        print_process="screen",
        max_colors=4,
    )

    assert Image.open(outcome.outputs[1]).mode == "P"
    assert outcome.result["colour_count"] <= 4
    assert sum(m["code"].startswith("INK-SCR-") for m in outcome.result["materials"]) <= 5


def test_a_too_small_image_is_refused_for_its_resolution(tmp_path: Path) -> None:
    source = write_image(tmp_path / "tiny.png", 64, 64)

    with pytest.raises(InfeasibleDesign, match="resolution is too low"):
        design(tmp_path / "out", inputs=(source,), pattern={"type": "image", "file_id": "f1"})


NO_USABLE_IMAGE = [
    (png_claiming(30_000, 30_000), "not a readable raster image"),
    (png_claiming(8_000, 7_000), "the most taken is 48,000,000"),
    (b"this is not a picture", "not a readable raster image"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "not a readable raster image"),
    (b"", "missing or empty"),
]
NO_USABLE_IMAGE_IDS = ["decompression bomb", "too many pixels", "text", "pdf", "empty"]


@pytest.mark.parametrize(("content", "says"), NO_USABLE_IMAGE, ids=NO_USABLE_IMAGE_IDS)
def test_an_input_that_is_no_usable_image_is_invalid(
    content: bytes, says: str, tmp_path: Path
) -> None:
    source = tmp_path / "art.png"
    source.write_bytes(content)

    with pytest.raises(InvalidInput, match=says):
        design(tmp_path / "out", inputs=(source,), pattern={"type": "image", "file_id": "f1"})


@pytest.mark.parametrize(("content", "says"), NO_USABLE_IMAGE, ids=NO_USABLE_IMAGE_IDS)
def test_image_facts_refuse_what_the_design_kind_refuses(
    content: bytes, says: str, tmp_path: Path
) -> None:
    source = tmp_path / "art.png"
    source.write_bytes(content)

    with pytest.raises(InvalidInput, match=says):
        read_image_facts(source)


def test_image_facts_come_from_the_header_without_decoding_a_pixel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "big.png"
    source.write_bytes(png_claiming(8_000, 5_875))  # 47 megapixels claimed, none stored

    def no_decoding(*args: object) -> None:
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)

    assert read_image_facts(source) == ImageFacts(8_000, 5_875)


def test_image_facts_are_upright_as_the_exif_orientation_says(tmp_path: Path) -> None:
    source = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    Image.new("RGB", (300, 200), "red").save(source, exif=exif)

    assert read_image_facts(source) == ImageFacts(200, 300)
    assert load_design_image(source)[1] == (200, 300)


def test_an_image_pattern_without_its_input_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="single input"):
        design(tmp_path, pattern={"type": "image", "file_id": "f1"})
