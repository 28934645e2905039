"""Accuracy of the built-in engine at the synthetic generator's default settings.

The thresholds guard the level measured by ``benchmarks/bench_refine_accuracy.py`` (with
``--engine learned`` for the learned map). They sit a little below it, and below the issue's
targets of IoU 0.95, count 5 %, G 0.1, which are not met yet: a change that makes clicks or
segment-all clearly worse fails here.
"""

from __future__ import annotations

import pytest

from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine import make_engine
from napari_microstructure.core.refine.accuracy import click_ious, grain_errors
from napari_microstructure.core.synthetic import generate


@pytest.mark.parametrize(
    ("engine_name", "kind", "seed", "min_iou", "max_count", "max_dg_int", "max_dg_pla"),
    [
        # 547 grains of ~15 px: measured 0.87, -6 %, -0.13 / -0.08
        ("classical", "etched", 2, 0.83, 0.09, 0.2, 0.15),
        ("classical", "etched", 4, 0.90, 0.06, 0.15, 0.1),  # measured 0.94, -3 %, -0.08 / -0.04
        ("classical", "tint", 1, 0.84, 0.05, 0.17, 0.06),  # measured 0.86, -3.3 %, -0.15 / -0.04
        ("classical", "tint", 4, 0.77, 0.04, 0.18, 0.05),  # measured 0.79, -2.1 %, -0.16 / +0.00
        ("learned", "etched", 2, 0.93, 0.05, 0.09, 0.06),  # measured 0.95, -3.3 %, -0.07 / -0.04
        ("learned", "tint", 2, 0.87, 0.04, 0.13, 0.05),  # measured 0.89, -1.6 %, -0.10 / -0.02
    ],
)
def test_accuracy_at_generator_defaults(
    engine_name, kind, seed, min_iou, max_count, max_dg_int, max_dg_pla
):
    m = generate(kind, shape=(512, 512), seed=seed)
    engine = make_engine(engine_name)
    run_to_end(engine.set_image(m.image, m.pixel_size))
    assert click_ious(engine, m.grains).mean() >= min_iou
    # G of our labels against G of the true labels, both measured by the same code
    err = grain_errors(engine.labels, m.grains, m.pixel_size)
    assert abs(err["count_err"]) <= max_count
    assert abs(err["g_int_err"]) <= max_dg_int
    assert abs(err["g_pla_err"]) <= max_dg_pla
