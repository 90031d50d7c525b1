"""The `ppt` job kind: its params, the deck it writes (reopened with python-pptx), how
text is sized to fit, and a LibreOffice round trip when LibreOffice is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation
from pptx.enum.text import MSO_AUTO_SIZE
from pptx.oxml.ns import qn
from pydantic import ValidationError

from config.settings import DEFAULT_TIME_LIMITS
from tasks import ppt
from tasks.content import Slide, model_for
from tasks.errors import ModelUnavailable
from tasks.ppt import PptParams, run_ppt
from tasks.ppt.deck import (
    COVER_SUBTITLE,
    COVER_TITLE,
    EAST_ASIAN_TYPEFACE,
    SECTION_BODY,
    SECTION_TITLE,
    closing_title,
    plan_deck,
    section_title_ink,
)
from tasks.ppt.fitting import ELLIPSIS, TextBox, fit_text, line_count, lines_needed, shorten
from tasks.registry import get_kind
from tasks.types import JobContext, JobOutcome

TOPIC = "产品发布会"
FIVE_ITEMS = ["产品介绍", "核心功能", "Market analysis", "定价与套餐", "Roadmap for 2026"]
BOX = TextBox(width_pt=400, height_pt=100, max_pt=36, min_pt=12)
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def make_params(**overrides: Any) -> PptParams:
    fields: dict[str, Any] = {"topic": TOPIC, "outline": FIVE_ITEMS, **overrides}
    return PptParams.model_validate(fields)


def build(tmp_path: Path, params: PptParams | None = None, progress: Any = None) -> JobOutcome:
    extra = {"progress": progress} if progress else {}
    return run_ppt(JobContext(params=params or make_params(), workdir=tmp_path, **extra))


def slide_titles(path: Path) -> list[str]:
    return [slide.shapes.title.text for slide in Presentation(str(path)).slides]


class StubModel:
    """A content model answering with the slides it was given."""

    def __init__(self, slides: list[Slide]) -> None:
        self.answer = slides

    def slides(self, topic: str, outline: list[str]) -> list[Slide]:
        return self.answer


def use_model(monkeypatch: pytest.MonkeyPatch, slides: list[Slide]) -> None:
    stub: Callable[..., StubModel] = lambda spec, session=None: StubModel(slides)  # noqa: E731
    monkeypatch.setattr(ppt, "model_for", stub)


# --- The deck ------------------------------------------------------------------------------


def test_five_item_outline_reopens_as_seven_slides_titled_topic_items_and_closing(
    tmp_path: Path,
) -> None:
    expected = [s.title for s in model_for(None).slides(TOPIC, FIVE_ITEMS)]
    outcome = build(tmp_path)
    assert outcome.outputs == (tmp_path / "deck.pptx",)
    assert slide_titles(tmp_path / "deck.pptx") == [*expected, "谢谢"]
    assert expected[0] == TOPIC and len(expected) == 6


def test_result_gives_slide_count_and_titles_as_written(tmp_path: Path) -> None:
    outcome = build(tmp_path)
    assert outcome.result == {"slides": 7, "titles": slide_titles(tmp_path / "deck.pptx")}


def test_english_topic_closes_with_thank_you(tmp_path: Path) -> None:
    build(tmp_path, make_params(topic="Quarterly review", outline=["Sales", "Hiring"]))
    assert slide_titles(tmp_path / "deck.pptx") == [
        "Quarterly review",
        "Sales",
        "Hiring",
        "Thank you",
    ]


def test_title_slide_subtitle_is_the_agenda(tmp_path: Path) -> None:
    build(tmp_path)
    cover = Presentation(str(tmp_path / "deck.pptx")).slides[0]
    assert cover.placeholders[1].text_frame.text == " · ".join(FIVE_ITEMS)


def test_section_slides_hold_the_models_bullets(tmp_path: Path) -> None:
    sections = model_for(None).slides(TOPIC, FIVE_ITEMS)[1:]
    build(tmp_path)
    deck = Presentation(str(tmp_path / "deck.pptx"))
    bodies = [[p.text for p in s.placeholders[1].text_frame.paragraphs] for s in deck.slides]
    assert bodies[1:6] == [list(s.bullets) for s in sections]


def test_only_the_finished_deck_is_left_in_the_workdir(tmp_path: Path) -> None:
    build(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["deck.pptx"]


def test_progress_is_reported_per_slide_and_ends_at_100(tmp_path: Path) -> None:
    reports: list[tuple[float, str]] = []
    build(tmp_path, progress=lambda completion, stage: reports.append((completion, stage)))
    stages = [stage for _, stage in reports]
    assert [s for s in stages if s.startswith("slide")] == [f"slide {n}/7" for n in range(1, 8)]
    completions = [c for c, _ in reports]
    assert completions == sorted(completions) and completions[-1] == 100


def test_chinese_runs_name_an_east_asian_typeface_and_latin_runs_do_not(tmp_path: Path) -> None:
    build(tmp_path, make_params(outline=["核心功能", "Market analysis"]))
    deck = Presentation(str(tmp_path / "deck.pptx"))
    chinese_title, latin_title = (deck.slides[n].shapes.title.text_frame for n in (1, 2))
    ea = chinese_title.paragraphs[0].runs[0].font._rPr.find(qn("a:ea"))
    assert ea is not None and ea.get("typeface") == EAST_ASIAN_TYPEFACE
    assert latin_title.paragraphs[0].runs[0].font._rPr.find(qn("a:ea")) is None


def test_every_text_is_wrapped_shrinkable_and_sized_within_its_frame(tmp_path: Path) -> None:
    build(tmp_path)
    frames = [SECTION_TITLE, SECTION_BODY, COVER_TITLE, COVER_SUBTITLE]
    floor, ceiling = min(f.min_pt for f in frames), max(f.max_pt for f in frames)
    for slide in Presentation(str(tmp_path / "deck.pptx")).slides:
        for placeholder in slide.placeholders:
            frame = placeholder.text_frame
            assert frame.word_wrap and frame.auto_size == MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
            for run in (r for p in frame.paragraphs for r in p.runs):
                assert run.font.size is not None
                assert floor <= run.font.size.pt <= ceiling


def test_very_long_bullets_are_set_at_the_floor_and_end_in_an_ellipsis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_bullets = tuple("很长的要点" * 60 for _ in range(12))
    use_model(monkeypatch, [Slide(TOPIC, ("一",)), Slide("一", long_bullets)])
    build(tmp_path, make_params(outline=["一"]))
    body = Presentation(str(tmp_path / "deck.pptx")).slides[1].placeholders[1].text_frame
    sizes = {r.font.size.pt for p in body.paragraphs for r in p.runs if r.font.size}
    assert sizes == {SECTION_BODY.min_pt}
    assert len(body.paragraphs) < len(long_bullets)
    assert body.paragraphs[-1].text.endswith(ELLIPSIS)


def test_a_model_without_one_slide_per_item_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, [Slide(TOPIC, ()), Slide("only one", ())])
    with pytest.raises(ModelUnavailable):
        build(tmp_path)
    assert not (tmp_path / "deck.pptx").exists()


def test_ppt_is_registered_on_the_media_queue_with_time_limits() -> None:
    kind = get_kind("ppt")
    assert (kind.run, kind.queue, kind.params) == (run_ppt, "media", PptParams)
    assert DEFAULT_TIME_LIMITS["ppt"].soft_s == 300


# --- Params --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"topic": ""},
        {"topic": "   "},
        {"topic": "t" * 201},
        {"outline": []},
        {"outline": ["x"] * 31},
        {"outline": [""]},
        {"outline": ["x" * 301]},
        {"theme": "not a colour"},
        {"model": {"provider": "openai"}},
        {"slides": 3},
    ],
)
def test_params_refuse(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        make_params(**overrides)


@pytest.mark.parametrize(
    ("overrides", "theme_colour"),
    [
        ({}, "#1f4e79"),
        ({"theme": "#FF8800"}, "#ff8800"),
        ({"topic": "t" * 200, "outline": ["x" * 300] * 30}, "#1f4e79"),
        ({"model": {"provider": "local"}}, "#1f4e79"),
    ],
)
def test_params_accept(overrides: dict[str, Any], theme_colour: str) -> None:
    assert make_params(**overrides).theme_colour == theme_colour


# --- Pure decisions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paragraphs", "size_pt"),
    [
        ((), 36),
        (("Hi",), 36),
        (("x" * 40,), 32),  # 22 ems: three lines at 34 pt, two at 32
        (("字" * 20,), 36),  # exactly two lines of ten ems
        (("字" * 30,), 26),  # three lines, which only fit from 26 pt down
        (("a", "b", "c", "d", "e"), 16),  # five lines: 100 pt / (1.25 × 16)
        (("字" * 150,), 12),  # five lines of 30 ems at 12 pt; 14 pt holds only five of 25.7
    ],
)
def test_text_is_set_at_the_largest_size_that_fits(
    paragraphs: tuple[str, ...], size_pt: int
) -> None:
    fitted = fit_text(paragraphs, BOX)
    assert (fitted.size_pt, fitted.truncated) == (size_pt, False)
    assert fitted.paragraphs == paragraphs


@pytest.mark.parametrize(
    "paragraphs",
    [
        ("字" * 400,),
        ("word " * 300,),
        tuple("bullet" for _ in range(20)),
        ("a short one", "很长的要点" * 80, "dropped"),
    ],
)
def test_text_too_long_for_the_floor_is_cut_to_fit_and_ends_in_an_ellipsis(
    paragraphs: tuple[str, ...],
) -> None:
    fitted = fit_text(paragraphs, BOX)
    assert (fitted.size_pt, fitted.truncated) == (BOX.min_pt, True)
    assert fitted.paragraphs[-1].endswith(ELLIPSIS)
    assert lines_needed(fitted.paragraphs, BOX, BOX.min_pt) <= line_count(BOX, BOX.min_pt)


def test_whitespace_runs_collapse_before_fitting() -> None:
    assert fit_text(("  two   words \n",), BOX).paragraphs == ("two words",)


@pytest.mark.parametrize(
    ("text", "budget_em", "shortened"),
    [
        ("字" * 10, 5.0, "字" * 4 + ELLIPSIS),  # Chinese is cut between characters
        ("alpha beta gamma delta", 11.5, "alpha beta gamma" + ELLIPSIS),  # at a word boundary
        ("abcdefghijklmnop", 6.0, "abcdefghi" + ELLIPSIS),  # no boundary: between letters
        ("第一，第二，第三", 3.6, "第一" + ELLIPSIS),  # no comma before the ellipsis
    ],
)
def test_shorten(text: str, budget_em: float, shortened: str) -> None:
    assert shorten(text, budget_em) == shortened


@pytest.mark.parametrize(
    ("topic", "title"),
    [("产品发布会", "谢谢"), ("AI 产品", "谢谢"), ("Launch", "Thank you"), ("2026", "Thank you")],
)
def test_closing_title_follows_the_topics_language(topic: str, title: str) -> None:
    assert closing_title(topic) == title


def test_plan_is_cover_sections_and_closing() -> None:
    slides = [Slide("Topic", ("A", "B")), Slide("A", ("a1",)), Slide("B", ())]
    plan = plan_deck(slides)
    assert [(p.role, p.title, p.body) for p in plan] == [
        ("cover", "Topic", ("A · B",)),
        ("section", "A", ("a1",)),
        ("section", "B", ()),
        ("cover", "Thank you", ("Topic",)),
    ]


@pytest.mark.parametrize(
    ("theme", "ink_is_theme"),
    [((31, 78, 121), True), ((0, 0, 0), True), ((255, 238, 170), False), ((255, 255, 255), False)],
)
def test_section_titles_take_the_theme_only_when_it_reads_on_white(
    theme: tuple[int, int, int], ink_is_theme: bool
) -> None:
    assert (section_title_ink(theme) == theme) is ink_is_theme


# --- LibreOffice ---------------------------------------------------------------------------


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_converts_the_deck_to_a_seven_page_pdf(tmp_path: Path) -> None:
    assert SOFFICE is not None
    build(tmp_path)
    profile = (tmp_path / "lo-profile").as_uri()
    command = [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf"]
    subprocess.run(
        [*command, "--outdir", str(tmp_path), str(tmp_path / "deck.pptx")],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = (tmp_path / "deck.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(PDF_PAGE.findall(pdf)) == 7
