"""Bills of materials: fabric by product and size, ink or thread by process and area."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tasks.design import DesignParams, run_design
from tasks.design.materials import (
    InkUse,
    Material,
    bill_of_materials,
    cmyk,
    millilitres,
    whole_metres,
)
from tasks.types import JobContext

WHITE, BLACK, NAVY, NATURAL = (255, 255, 255), (27, 27, 29), (31, 42, 68), (239, 230, 209)


@pytest.mark.parametrize(
    ("product", "size", "process", "fabric", "inks", "expected"),
    [
        pytest.param(
            "t_shirt",
            "M",
            "dtg",
            WHITE,
            [((255, 0, 0), 100.0)],
            [
                ("fabric", "FB-025", "1.2m"),
                ("ink", "INK-DTG-M", "2.0ml"),
                ("ink", "INK-DTG-Y", "2.0ml"),
            ],
            id="red on a white tee: magenta and yellow, no white",
        ),
        pytest.param(
            "t_shirt",
            "XL",
            "dtg",
            NAVY,
            [((255, 255, 255), 50.0)],
            [("fabric", "FB-025", "1.4m"), ("ink", "INK-DTG-W", "4.0ml")],
            id="white on navy: white ink only",
        ),
        pytest.param(
            "t_shirt",
            "S",
            "dtg",
            BLACK,
            [((0, 0, 255), 30.0)],
            [
                ("fabric", "FB-025", "1.05m"),
                ("ink", "INK-DTG-C", "0.6ml"),
                ("ink", "INK-DTG-M", "0.6ml"),
                ("ink", "INK-DTG-W", "2.4ml"),
            ],
            id="blue on black: process inks over a white underbase",
        ),
        pytest.param(
            "hoodie",
            "S",
            "screen",
            BLACK,
            [((0, 0, 255), 40.0), ((255, 255, 0), 20.0)],
            [
                ("fabric", "FB-112", "1.75m"),
                ("fabric", "FB-118", "0.2m"),
                ("ink", "INK-SCR-0000FF", "2.0ml"),
                ("ink", "INK-SCR-FFFF00", "1.0ml"),
                ("ink", "INK-SCR-UNDERBASE", "3.0ml"),
            ],
            id="two spot colours on a black hoodie, and their underbase",
        ),
        pytest.param(
            "hoodie",
            "XXL",
            "screen",
            WHITE,
            [((200, 30, 40), 64.0)],
            [
                ("fabric", "FB-112", "2.4m"),
                ("fabric", "FB-118", "0.3m"),
                ("ink", "INK-SCR-C81E28", "3.2ml"),
            ],
            id="one spot colour on white: no underbase",
        ),
        pytest.param(
            "tote_bag",
            "ONE_SIZE",
            "embroidery",
            NATURAL,
            [((200, 0, 0), 10.0), ((0, 0, 0), 2.5)],
            [
                ("fabric", "FB-301", "0.6m"),
                ("thread", "THR-C80000", "72m"),
                ("thread", "THR-000000", "18m"),
                ("thread", "THR-BOBBIN-WHITE", "30m"),
            ],
            id="embroidery: thread per colour from its area, and the bobbin's third",
        ),
        pytest.param(
            "t_shirt",
            "M",
            "embroidery",
            NAVY,
            [((255, 255, 255), 16.0)],
            [
                ("fabric", "FB-025", "1.2m"),
                ("thread", "THR-FFFFFF", "116m"),
                ("thread", "THR-BOBBIN-WHITE", "39m"),
            ],
            id="a filled 4 x 4 in left chest",
        ),
        pytest.param(
            "hoodie",
            "XXL",
            "dtg",
            WHITE,
            [((128, 128, 128), 10.0)],
            [
                ("fabric", "FB-112", "2.4m"),
                ("fabric", "FB-118", "0.3m"),
                ("ink", "INK-DTG-K", "0.1ml"),
            ],
            id="grey is black ink alone",
        ),
        pytest.param(
            "t_shirt",
            "XS",
            "screen",
            WHITE,
            [],
            [("fabric", "FB-025", "0.95m")],
            id="no ink: fabric only",
        ),
        pytest.param(
            "t_shirt",
            "L",
            "dtg",
            WHITE,
            [((0, 0, 0), 0.01)],
            [("fabric", "FB-025", "1.3m"), ("ink", "INK-DTG-K", "0.1ml")],
            id="a speck of ink still shows as 0.1ml",
        ),
    ],
)
def test_bill_of_materials(
    product: str,
    size: str,
    process: str,
    fabric: tuple[int, int, int],
    inks: list[tuple[tuple[int, int, int], float]],
    expected: list[tuple[str, str, str]],
) -> None:
    uses = [InkUse(rgb, area) for rgb, area in inks]

    materials = bill_of_materials(product, size, process, fabric, uses)  # type: ignore[arg-type]

    assert [(m.type, m.code, m.consumption) for m in materials] == expected


@pytest.mark.parametrize(
    ("product", "sizes", "metres"),
    [
        (
            "t_shirt",
            ["XS", "S", "M", "L", "XL", "XXL"],
            ["0.95m", "1.05m", "1.2m", "1.3m", "1.4m", "1.55m"],
        ),
        (
            "hoodie",
            ["XS", "S", "M", "L", "XL", "XXL"],
            ["1.6m", "1.75m", "1.9m", "2.05m", "2.2m", "2.4m"],
        ),
        ("tote_bag", ["ONE_SIZE"], ["0.6m"]),
    ],
)
def test_larger_sizes_take_more_fabric(product: str, sizes: list[str], metres: list[str]) -> None:
    main_fabric = [bill_of_materials(product, s, "dtg", WHITE, [])[0] for s in sizes]  # type: ignore[arg-type]

    assert [m.consumption for m in main_fabric] == metres


@pytest.mark.parametrize(
    ("rgb", "expected"),
    [
        ((255, 255, 255), (0.0, 0.0, 0.0, 0.0)),
        ((0, 0, 0), (0.0, 0.0, 0.0, 1.0)),
        ((255, 0, 0), (0.0, 1.0, 1.0, 0.0)),
        ((0, 128, 255), (1.0, 0.498, 0.0, 0.0)),
        ((128, 128, 128), (0.0, 0.0, 0.0, 0.498)),
    ],
)
def test_cmyk_split(rgb: tuple[int, int, int], expected: tuple[float, ...]) -> None:
    assert cmyk(rgb) == pytest.approx(expected, abs=0.001)


@pytest.mark.parametrize(
    ("value", "ml", "metres"),
    [(0.0, "0.1ml", "1m"), (0.04, "0.1ml", "1m"), (2.35, "2.4ml", "3m"), (12.0, "12.0ml", "12m")],
)
def test_consumption_is_written_in_the_seed_s_units(value: float, ml: str, metres: str) -> None:
    assert (millilitres(value), whole_metres(value)) == (ml, metres)


def test_a_material_is_plain_data_in_the_seed_s_shape() -> None:
    assert Material("fabric", "FB-025", "1.2m").as_dict() == {
        "type": "fabric",
        "code": "FB-025",
        "consumption": "1.2m",
    }


def test_a_design_bills_the_area_its_ink_measures() -> None:
    params = DesignParams.model_validate(
        {
            "product_type": "t_shirt",
            "color": "white",
            "pattern": {"type": "solid", "color": "#ff0000"},
        }
    )

    with tempfile.TemporaryDirectory() as workdir:
        outcome = run_design(JobContext(params=params, workdir=Path(workdir)))

    # A solid fills the whole 12 x 16 in print area: 192 sq in of pure red.
    assert outcome.result["materials"] == [
        {"type": "fabric", "code": "FB-025", "consumption": "1.2m"},
        {"type": "ink", "code": "INK-DTG-M", "consumption": "3.8ml"},
        {"type": "ink", "code": "INK-DTG-Y", "consumption": "3.8ml"},
    ]
