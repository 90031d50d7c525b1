"""How a prompt steers generated artwork: its words (English or Chinese) pick the motif
and the palette's mood, and a SHA-256 of the prompt and seed picks everything else, so
the same request always draws the same picture and any other prompt a different one."""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from tasks.design.colours import MIN_CONTRAST_DE, RGB, colour_difference, colour_rgb, with_contrast

T = TypeVar("T")


class Motif(StrEnum):
    """The families of generated artwork."""

    LINES = "lines"
    CIRCUITS = "circuits"
    WAVES = "waves"
    RIPPLES = "ripples"
    TRIANGLES = "triangles"
    BLOCKS = "blocks"
    FLOW = "flow"
    CELLS = "cells"  # Voronoi
    PETALS = "petals"
    STARS = "stars"
    RAYS = "rays"
    MOUNTAINS = "mountains"
    HALFTONE = "halftone"


class Frame(StrEnum):
    """The outline the motif fills; FULL fills the whole artwork rectangle."""

    CIRCLE = "circle"
    ROUNDED_SQUARE = "rounded_square"
    HEXAGON = "hexagon"
    DIAMOND = "diamond"
    ARCH = "arch"
    FULL = "full"


# Words that name a motif, each with the palette it suits; the earliest found wins.
MOTIF_WORDS: tuple[tuple[tuple[str, ...], Motif, str], ...] = (
    (
        ("科技", "技术", "tech", "cyber", "circuit", "电路", "芯片", "digital", "数码"),
        Motif.CIRCUITS,
        "neon",
    ),
    (("线", "line", "stripe", "条纹", "speed"), Motif.LINES, "neon"),
    (
        ("花", "flower", "floral", "petal", "bloom", "blossom", "玫瑰", "rose", "樱"),
        Motif.PETALS,
        "floral",
    ),
    (
        ("海", "ocean", "wave", "sea", "浪", "波", "water", "river", "河", "湖"),
        Motif.WAVES,
        "ocean",
    ),
    (("星", "star", "galaxy", "宇宙", "space", "cosmic", "夜空"), Motif.STARS, "night"),
    (("山", "mountain", "peak", "hill", "风景", "landscape"), Motif.MOUNTAINS, "earth"),
    (("太阳", "sun", "日出", "sunrise", "光芒", "ray", "burst"), Motif.RAYS, "sunset"),
    (("涟漪", "ripple", "circle", "圆", "ring", "环"), Motif.RIPPLES, "retro"),
    (("格", "grid", "block", "square", "方块", "mondrian", "砖"), Motif.BLOCKS, "retro"),
    (
        ("几何", "geometr", "triangle", "三角", "polygon", "低多边形", "low poly"),
        Motif.TRIANGLES,
        "pastel",
    ),
    (
        ("流", "flow", "风", "wind", "smoke", "烟", "等高", "contour", "topograph"),
        Motif.FLOW,
        "ink",
    ),
    (
        ("细胞", "cell", "voronoi", "晶", "crystal", "石", "stone", "mosaic", "马赛克"),
        Motif.CELLS,
        "earth",
    ),
    (("点", "dot", "halftone", "波普", "pop art", "漫画", "comic"), Motif.HALFTONE, "retro"),
    (("火", "fire", "flame", "焰"), Motif.FLOW, "fire"),
    (("森林", "forest", "tree", "树", "leaf", "叶"), Motif.PETALS, "forest"),
)
MOOD_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("彩虹", "rainbow", "pride"), "rainbow"),
    (("霓虹", "neon", "赛博", "cyberpunk", "未来", "future"), "neon"),
    (("红", "red", "fire", "火"), "fire"),
    (("蓝", "blue", "海", "ocean"), "ocean"),
    (("绿", "green", "森林", "forest", "自然", "nature"), "forest"),
    (("金", "gold", "luxury", "奢华"), "gold"),
    (("粉", "pink", "pastel", "马卡龙", "可爱", "cute"), "pastel"),
    (("复古", "retro", "vintage", "怀旧"), "retro"),
    (("水墨", "ink", "墨", "书法", "calligraph", "中国风"), "ink"),
    (("黑白", "monochrome", "black and white", "极简", "minimal"), "mono"),
    (("夜", "night", "dark", "暗"), "night"),
    (("日落", "sunset", "夕阳", "黄昏", "dusk", "summer", "夏"), "sunset"),
)
PALETTES: dict[str, tuple[str, ...]] = {
    "neon": ("#00e5ff", "#1de9b6", "#7c4dff", "#ff4081", "#eeff41", "#2979ff", "#f5f5f5"),
    "ocean": ("#03256c", "#2541b2", "#1768ac", "#06bee1", "#b8f3ff", "#0a9396", "#f8f9fa"),
    "floral": ("#e63946", "#f4a3b4", "#ffb703", "#8ecae6", "#6a994e", "#fefae0", "#9d4edd"),
    "night": ("#1c2541", "#3a506b", "#5bc0be", "#ffd166", "#f8f9fa", "#c77dff", "#ef476f"),
    "sunset": ("#ff6b35", "#f7c59f", "#004e89", "#ff9f1c", "#d62828", "#6a040f", "#ffe8d6"),
    "earth": ("#283618", "#606c38", "#dda15e", "#bc6c25", "#fefae0", "#8d99ae", "#3d405b"),
    "fire": ("#d00000", "#e85d04", "#ffba08", "#370617", "#faa307", "#9d0208", "#fff3b0"),
    "forest": ("#1b4332", "#40916c", "#74c69d", "#d8f3dc", "#b5838d", "#ffb703", "#081c15"),
    "retro": ("#e07a5f", "#3d405b", "#81b29a", "#f2cc8f", "#f4f1de", "#d1495b", "#00798c"),
    "pastel": ("#ffadad", "#ffd6a5", "#fdffb6", "#caffbf", "#9bf6ff", "#a0c4ff", "#bdb2ff"),
    "ink": ("#1a1a1a", "#4a4a4a", "#8c8c8c", "#c8102e", "#f2efe6"),
    "mono": ("#111111", "#555555", "#999999", "#dddddd", "#ffffff"),
    "gold": ("#c9a227", "#1a1a1a", "#f5e6a8", "#7a5c12", "#fdfcf7", "#8c1c13"),
    "rainbow": (
        "#e40303",
        "#ff8c00",
        "#ffed00",
        "#008026",
        "#24408e",
        "#732982",
        "#ff7eb6",
        "#00c2d1",
    ),
}
FULL_PALETTE_MOODS = {"rainbow"}  # these moods use every colour they list
# The symmetries each motif may be folded into (1: none, 2: mirrored, n: n-fold
# kaleidoscope); waves, circuits and landscapes stay recognisable only unfolded.
SYMMETRIES: dict[Motif, tuple[int, ...]] = {
    Motif.LINES: (1, 1, 2, 4),
    Motif.CIRCUITS: (1, 1, 2),
    Motif.WAVES: (1, 1, 2),
    Motif.RIPPLES: (1, 2, 3, 4, 6),
    Motif.TRIANGLES: (1, 2, 3, 6),
    Motif.BLOCKS: (1, 2),
    Motif.FLOW: (1, 1, 2, 3, 5),
    Motif.CELLS: (1, 2, 3, 4, 6, 8),
    Motif.PETALS: (1,),  # a mirrored flower grows a spike where its halves meet
    Motif.STARS: (1, 1, 2),
    Motif.RAYS: (1, 1, 2),
    Motif.MOUNTAINS: (1, 1, 2),
    Motif.HALFTONE: (1, 2, 4),
}
TURNABLE = {
    Motif.LINES,
    Motif.CIRCUITS,
    Motif.RIPPLES,
    Motif.TRIANGLES,
    Motif.FLOW,
    Motif.CELLS,
    Motif.HALFTONE,
}


@dataclass(frozen=True)
class Dice:
    """Deterministic numbers drawn from a digest: each `label` gives its own independent
    value, so adding a draw never shifts the others (and nothing depends on call order)."""

    digest: bytes

    def unit(self, label: str) -> float:
        """A number in [0, 1) for `label`."""
        raw = hashlib.sha256(self.digest + label.encode()).digest()
        return struct.unpack(">Q", raw[:8])[0] / 2.0**64

    def uniform(self, label: str, low: float, high: float) -> float:
        return low + (high - low) * self.unit(label)

    def integer(self, label: str, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + int(self.unit(label) * (high - low + 1))

    def choice(self, label: str, options: Sequence[T]) -> T:
        return options[int(self.unit(label) * len(options))]

    def chance(self, label: str, probability: float) -> bool:
        return self.unit(label) < probability

    def salt(self, label: str) -> int:
        """A non-negative 31-bit integer for `label`, for hashing grid cells."""
        return int(self.unit(label) * 2**31)


@dataclass(frozen=True)
class Style:
    """Everything a generated artwork is drawn from. `inks` are the motif's colours; a
    `ground` fills the frame behind the motif with one more ink."""

    motif: Motif
    mood: str
    inks: tuple[RGB, ...]
    ground: RGB | None
    frame: Frame
    outline: bool
    symmetry: int  # 1: none, 2: mirrored left to right, 3 and up: that many-fold kaleidoscope
    density: float  # 0..1
    angle_rad: float
    dice: Dice


def prompt_digest(prompt: str, seed: int) -> bytes:
    return hashlib.sha256(f"{seed}\x00{normalised_prompt(prompt)}".encode()).digest()


def normalised_prompt(prompt: str) -> str:
    """NFKC-folded and case-folded, whitespace collapsed: 'Ｏcean  Waves' reads as 'ocean waves'."""
    return " ".join(unicodedata.normalize("NFKC", prompt).casefold().split())


def word_position(text: str, word: str) -> int:
    """Where `word` first occurs in `text`, or -1. A Latin word must start a word ('ring'
    is not found in 'spring'); Chinese has no spaces, so its words may stand anywhere."""
    if not word.isascii():
        return text.find(word)
    found = re.search(r"(?<![a-z])" + re.escape(word), text)
    return found.start() if found else -1


def earliest(text: str, table: Sequence[tuple[tuple[str, ...], T]]) -> T | None:
    """The value of the table's row whose word occurs first in `text` (the earlier row on
    a tie: 'flower' is a flower before it is a flow), or None."""
    found = [
        (position, row)
        for row, (words, _) in enumerate(table)
        for position in (word_position(text, w) for w in words)
        if position >= 0
    ]
    return table[min(found)[1]][1] if found else None


def motif_and_mood(prompt: str, dice: Dice) -> tuple[Motif, str]:
    """The motif and palette mood the prompt's words ask for; the dice pick what they don't."""
    text = normalised_prompt(prompt)
    named = earliest(text, [(words, (motif, mood)) for words, motif, mood in MOTIF_WORDS])
    mood = earliest(text, MOOD_WORDS)
    if named is None:
        motif = dice.choice("motif", list(Motif))
        return motif, mood or dice.choice("mood", sorted(set(PALETTES) - FULL_PALETTE_MOODS))
    return named[0], mood or named[1]


def style_for(prompt: str, seed: int, fabric: RGB, max_inks: int | None = None) -> Style:
    """The style of the artwork for `prompt` and `seed` on a `fabric`-coloured garment;
    every ink is nudged until it shows on the fabric. `max_inks` caps the inks, ground
    included."""
    dice = Dice(prompt_digest(prompt, seed))
    motif, mood = motif_and_mood(prompt, dice)
    frame = dice.choice("frame", [Frame.FULL, Frame.FULL, *list(Frame)])
    ground = dice.chance("ground", 0.25 if frame is Frame.FULL else 0.45)
    count = ink_count(mood, dice, max_inks, ground)
    ground = ground and (max_inks is None or max_inks >= 2)
    colours = visible_first(shuffled(PALETTES[mood], dice), fabric)[: count + ground]
    inks = tuple(with_contrast(colour_rgb(c), fabric) for c in colours)
    return Style(
        motif=motif,
        mood=mood,
        inks=inks[ground:],
        ground=inks[0] if ground else None,
        frame=frame,
        outline=frame is not Frame.FULL and dice.chance("outline", 0.4),
        symmetry=symmetry_for(motif, dice),
        density=dice.unit("density"),
        angle_rad=dice.uniform("angle", 0.0, 3.14159),
        dice=dice,
    )


def ink_count(mood: str, dice: Dice, max_inks: int | None, ground: bool) -> int:
    """How many inks the motif draws with: a few, or the mood's whole palette."""
    if mood in FULL_PALETTE_MOODS:
        count = len(PALETTES[mood])
    else:
        count = dice.choice("inks", [2, 3, 3, 4, 4, 4, 5, 5, 6])
    if max_inks is not None:
        count = min(count, max_inks - (ground and max_inks >= 2))
    return max(1, min(count, len(PALETTES[mood]) - ground))


def symmetry_for(motif: Motif, dice: Dice) -> int:
    return dice.choice("symmetry", SYMMETRIES[motif])


def visible_first(colours: list[str], fabric: RGB) -> list[str]:
    """The colours that show on `fabric` first, keeping their order: a palette keeps its
    own vivid colours rather than shading one that would vanish into the cloth."""
    shows = [colour_difference(colour_rgb(c), fabric) >= MIN_CONTRAST_DE + 5 for c in colours]
    return [c for c, s in zip(colours, shows, strict=True) if s] + [
        c for c, s in zip(colours, shows, strict=True) if not s
    ]


def shuffled(colours: Sequence[str], dice: Dice) -> list[str]:
    """The colours in an order the dice choose (sorted by a keyed hash, so stable)."""
    return sorted(colours, key=lambda c: dice.unit(f"order:{c}"))
