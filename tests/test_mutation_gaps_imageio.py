"""Length units a pixel size may be given in, against their definitions in micrometres."""

from __future__ import annotations

import pytest

from napari_microstructure.core.pixel_size_tags import unit_to_um


@pytest.mark.parametrize(
    ("unit", "um"),
    [
        ("dm", 1e5),  # 0.1 m
        ("cm", 1e4),
        ("mm", 1e3),
        ("m", 1e6),
        ("nm", 1e-3),
        ("in", 25400.0),
        ("ft", 304800.0),
        ("mil", 25.4),
        ("pt", 25400.0 / 72),
    ],
)
def test_unit_to_micrometres(unit, um):
    assert unit_to_um(unit) == pytest.approx(um)
