"""Writing a 16:9 deck with python-pptx: which slides it holds (`plan_deck`, pure), and
each slide's placeholders placed, filled with text sized by `fitting` and coloured by the
theme. Cover slides (title and closing) sit on the theme colour; section slides carry a
theme-coloured title and accent bar over their bullets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.lang import MSO_LANGUAGE_ID
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.xmlchemy import OxmlElement
from pptx.text.text import _Run
from pptx.util import Inches, Pt

from tasks.content import Slide
from tasks.design.colours import RGB, contrasting_ink, is_dark
from tasks.ppt.fitting import TextBox, fit_text, is_east_asian

SLIDE_WIDTH_IN, SLIDE_HEIGHT_IN = 13.333, 7.5
COVER_LAYOUT, SECTION_LAYOUT = (
    0,
    1,
)  # python-pptx's default template: Title Slide, Title and Content
# PowerPoint picks a run's CJK glyphs from its East Asian font (a:ea), not its Latin one;
# Microsoft YaHei ships with Windows and Office, and LibreOffice substitutes its own CJK font.
EAST_ASIAN_TYPEFACE = "Microsoft YaHei"
INSET_X_IN, INSET_Y_IN = 0.1, 0.05
AGENDA_SEPARATOR = " · "
WHITE: RGB = (255, 255, 255)
SlideRole = Literal["cover", "section"]


@dataclass(frozen=True)
class Frame:
    """A placeholder's place on the slide in inches, the font sizes its text may take, and
    the indent its bullets take from the width."""

    left_in: float
    top_in: float
    width_in: float
    height_in: float
    max_pt: int
    min_pt: int
    indent_in: float = 0.0
    left_aligned: bool = False

    def text_box(self) -> TextBox:
        """The room its text has, inside the insets and the indent."""
        width_in = self.width_in - 2 * INSET_X_IN - self.indent_in
        height_in = self.height_in - 2 * INSET_Y_IN
        return TextBox(width_in * 72, height_in * 72, self.max_pt, self.min_pt)


COVER_TITLE = Frame(0.9, 2.1, 11.53, 2.0, max_pt=48, min_pt=24)
COVER_SUBTITLE = Frame(0.9, 4.3, 11.53, 1.6, max_pt=24, min_pt=14)
# Section titles align left, over the accent bar.
SECTION_TITLE = Frame(0.7, 0.35, 11.93, 1.2, max_pt=36, min_pt=20, left_aligned=True)
# The default master indents a first-level bullet's text by 0.375 in.
SECTION_BODY = Frame(0.7, 1.9, 11.93, 5.2, max_pt=28, min_pt=14, indent_in=0.375, left_aligned=True)
ACCENT_BAR = (0.8, 1.62, 1.6, 0.08)  # left, top, width, height in inches


@dataclass(frozen=True)
class SlidePlan:
    """One slide: a cover (title, subtitle) or a section (title, bullets)."""

    role: SlideRole
    title: str
    body: tuple[str, ...]


def plan_deck(slides: Sequence[Slide]) -> tuple[SlidePlan, ...]:
    """The deck of a content model's slides (a cover, then the sections): the cover with
    its bullets (the agenda) as one subtitle line, each section, and a closing cover
    thanking the audience over the cover's title."""
    cover, *sections = slides
    return (
        SlidePlan("cover", cover.title, (AGENDA_SEPARATOR.join(cover.bullets),)),
        *(SlidePlan("section", s.title, tuple(s.bullets)) for s in sections),
        SlidePlan("cover", closing_title(cover.title), (cover.title,)),
    )


def closing_title(topic: str) -> str:
    """The closing slide's title, in Chinese for a topic with East Asian characters."""
    return "谢谢" if is_east_asian(topic) else "Thank you"


def new_deck() -> Any:
    """An empty 16:9 presentation on python-pptx's default template."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(SLIDE_WIDTH_IN), Inches(SLIDE_HEIGHT_IN)
    return deck


def add_slide(deck: Any, plan: SlidePlan, theme: RGB) -> str:
    """Append `plan`'s slide to `deck`; returns its title as written (it may be cut short)."""
    if plan.role == "cover":
        slide = deck.slides.add_slide(deck.slide_layouts[COVER_LAYOUT])
        paint_background(slide, theme)
        ink: RGB | None = contrasting_ink(theme)
        title = fill(slide.placeholders[0], COVER_TITLE, (plan.title,), ink)
        fill(slide.placeholders[1], COVER_SUBTITLE, plan.body, ink)
        return title[0]
    slide = deck.slides.add_slide(deck.slide_layouts[SECTION_LAYOUT])
    add_accent_bar(slide, theme)
    title = fill(slide.placeholders[0], SECTION_TITLE, (plan.title,), section_title_ink(theme))
    fill(slide.placeholders[1], SECTION_BODY, plan.body, None)
    return title[0]


def section_title_ink(theme: RGB) -> RGB:
    """A section title's colour on the white slide: the theme when dark enough to read."""
    return theme if is_dark(theme) else contrasting_ink(WHITE)


def paint_background(slide: Any, colour: RGB) -> None:
    fill = slide.background.fill
    fill.solid()
    fill.fore_color.rgb = RGBColor(*colour)


def add_accent_bar(slide: Any, colour: RGB) -> None:
    bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *(Inches(v) for v in ACCENT_BAR))
    bar.fill.solid()
    bar.fill.fore_color.rgb = RGBColor(*colour)
    bar.line.fill.background()
    bar.shadow.inherit = False


def fill(
    placeholder: Any, frame: Frame, paragraphs: tuple[str, ...], ink: RGB | None
) -> tuple[str, ...]:
    """Place `placeholder` at `frame` and write the paragraphs into it, sized to fit;
    returns the paragraphs as written. `ink` None keeps the template's text colour."""
    placeholder.left, placeholder.top = Inches(frame.left_in), Inches(frame.top_in)
    placeholder.width, placeholder.height = Inches(frame.width_in), Inches(frame.height_in)
    fitted = fit_text(paragraphs, frame.text_box())
    text_frame = placeholder.text_frame
    text_frame.clear()
    text_frame.word_wrap = True
    # The size is already chosen; this lets PowerPoint shrink further if an estimate fell short.
    text_frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
    text_frame.margin_left = text_frame.margin_right = Inches(INSET_X_IN)
    text_frame.margin_top = text_frame.margin_bottom = Inches(INSET_Y_IN)
    for index, text in enumerate(fitted.paragraphs):
        paragraph = text_frame.paragraphs[0] if index == 0 else text_frame.add_paragraph()
        # fitting counts single-spaced lines with no gap between paragraphs.
        paragraph.line_spacing, paragraph.space_before = 1.0, Pt(0)
        if frame.left_aligned:
            paragraph.alignment = PP_ALIGN.LEFT
        style_run(paragraph.add_run(), text, fitted.size_pt, ink)
    return fitted.paragraphs


def style_run(run: _Run, text: str, size_pt: int, ink: RGB | None) -> None:
    """Set the run's text, size and colour; Chinese text also gets its language and
    East Asian typeface."""
    run.text = text
    run.font.size = Pt(size_pt)
    if ink is not None:
        run.font.color.rgb = RGBColor(*ink)
    if is_east_asian(text):
        run.font.language_id = MSO_LANGUAGE_ID.SIMPLIFIED_CHINESE
        east_asian = OxmlElement("a:ea")
        east_asian.set("typeface", EAST_ASIAN_TYPEFACE)
        # a:ea closes the rPr children python-pptx writes (a fill, no a:latin or link).
        run.font._rPr.append(east_asian)


def save_deck(deck: Any, path: Path) -> Path:
    """Write `deck` to a temporary name beside `path`, then rename it to `path`, so `path`
    never holds a partial file."""
    partial = path.with_name(f"{path.name}.partial")
    deck.save(str(partial))
    partial.replace(path)
    return path
