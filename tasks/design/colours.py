"""Colours of garments and inks: their RGB, and how different two colours look
(CIEDE2000), which decides whether an ink shows on a fabric. The names a request may use
are in `tasks.params.colours`."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tasks.params.colours import NAMED_COLOURS

RGB = tuple[int, int, int]
# Below this CIEDE2000 difference an ink reads as the fabric's own colour from arm's
# length: 2.3 is a just-noticeable difference, and prints need a clear step above it.
MIN_CONTRAST_DE = 15.0
DARK_LIGHTNESS = 50.0  # CIE L*: a fabric darker than mid-grey needs a white underbase
LINEAR_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
XYZ_TO_LINEAR = np.linalg.inv(LINEAR_TO_XYZ)


def colour_hex(colour: str) -> str:
    """`#rrggbb` of a normalised colour (a name or hex)."""
    return NAMED_COLOURS.get(colour, colour)


def colour_rgb(colour: str) -> RGB:
    """The 8-bit RGB of a normalised colour (a name or hex)."""
    code = colour_hex(colour)
    return (int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16))


def rgb_hex(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def srgb_to_lab(rgb: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """CIE L*a*b* (D65) of 8-bit sRGB colours; the last axis holds R, G, B."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ LINEAR_TO_XYZ.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lightness = 116 * f[..., 1] - 16
    return np.stack([lightness, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def delta_e2000(lab1: npt.ArrayLike, lab2: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """CIEDE2000 colour difference between L*a*b* colours (broadcast over leading axes)."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    d_big_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_mean = np.where(np.abs(h1p - h2p) > 180, (h1p + h2p + 360) / 2, (h1p + h2p) / 2)
    h_mean = np.where(c1p * c2p == 0, h1p + h2p, h_mean)
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_mean, 1 + 0.015 * cp_mean * t
    r_c = 2 * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    r_t = -np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2)))) * r_c
    dl, dc, dh_term = (l2 - l1) / s_l, (c2p - c1p) / s_c, d_big_h / s_h
    return np.sqrt(dl**2 + dc**2 + dh_term**2 + r_t * dc * dh_term)


def colour_difference(first: RGB, second: RGB) -> float:
    """CIEDE2000 difference between two sRGB colours."""
    return float(delta_e2000(srgb_to_lab(first), srgb_to_lab(second)))


def is_dark(rgb: RGB) -> bool:
    """Whether a fabric is dark enough that inks need a white underbase to show."""
    return bool(srgb_to_lab(rgb)[0] < DARK_LIGHTNESS)


def contrasting_ink(fabric: RGB) -> RGB:
    """White on a dark fabric, near-black on a light one: the ink that shows best."""
    return colour_rgb("white") if is_dark(fabric) else (0x1B, 0x1B, 0x1D)


def with_contrast(ink: RGB, fabric: RGB, minimum: float = MIN_CONTRAST_DE + 5) -> RGB:
    """`ink`, or the nearest shade of it (same hue and chroma, lighter on a dark fabric,
    darker on a light one) that differs from `fabric` by at least `minimum`."""
    lab = srgb_to_lab(ink)
    step = 4.0 if is_dark(fabric) else -4.0
    for n in range(26):
        candidate = lab_to_srgb(lab + np.array([step * n, 0.0, 0.0]))
        if colour_difference(candidate, fabric) >= minimum:
            return candidate
    return contrasting_ink(fabric)


def lab_to_srgb(lab: npt.ArrayLike) -> RGB:
    """The 8-bit sRGB colour nearest a CIE L*a*b* (D65) one, clipped to the gamut."""
    lightness, a, b = np.asarray(lab, dtype=np.float64)
    fy = (lightness + 16) / 116
    f = np.array([fy + a / 500, fy, fy - b / 200])
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * np.array(
        [0.95047, 1.0, 1.08883]
    )
    linear = np.clip(XYZ_TO_LINEAR @ xyz, 0, 1)
    c = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    r, g, bl = (round(v * 255) for v in c)
    return (r, g, bl)


def merged_inks(inks: list[RGB], limit: int) -> tuple[list[RGB], list[int]]:
    """Reduce `inks` to at most `limit` by merging the two that look most alike, over and
    over; returns the inks kept (each merged group keeps its first ink) and, for each
    original ink, the index of the ink it became."""
    kept = list(range(len(inks)))
    owner = list(range(len(inks)))
    lab = srgb_to_lab(np.array(inks, dtype=np.float64).reshape(-1, 3))
    while len(kept) > max(limit, 1):
        pairs = [(a, b) for n, a in enumerate(kept) for b in kept[n + 1 :]]
        a, b = min(pairs, key=lambda p: (float(delta_e2000(lab[p[0]], lab[p[1]])), p))
        kept.remove(b)
        owner = [a if o == b else o for o in owner]
    return [inks[k] for k in kept], [kept.index(o) for o in owner]
