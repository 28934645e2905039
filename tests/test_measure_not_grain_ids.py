"""Measure says when its input is not one id per grain (a boundary mask, a grey image), and the
command line stops quietly when its reader goes away (`| head`)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import tifffile

from napari_microstructure.core.measure import summarize
from napari_microstructure.core.measure._checks import not_grain_ids
from napari_microstructure.core.synthetic import generate


def _grains():
    return generate("etched", shape=(256, 256), seed=2, grain_size_um=15).grains


def _boundaries(grains):
    edge = np.zeros(grains.shape, bool)
    edge[:-1] |= grains[:-1] != grains[1:]
    edge[:, :-1] |= grains[:, :-1] != grains[:, 1:]
    return np.where(edge, 255, 0).astype(np.uint8)


def test_a_boundary_mask_is_named_as_one(tmp_path):
    grains = _grains()
    note = summarize(_boundaries(grains), 0.5)["note"]  # measured as 1 grain, silently
    assert "looks like a boundary mask" in note
    assert not_grain_ids(grains) is None  # real labels: nothing to say
    assert "note" not in summarize(grains, 0.5)


def test_grains_with_pores_are_grains():
    labels = np.zeros((120, 160), np.uint16)
    labels[:, :80], labels[:, 80:] = 1, 2
    for k in range(6):  # pores (0) inside grain 1
        labels[10 + 18 * k : 14 + 18 * k, 30:34] = 0
    assert not_grain_ids(labels) is None  # was called a boundary mask
    particle = np.zeros((120, 160), np.uint8)
    particle[30:90, 40:120] = 1
    particle[40:44, 50:54] = particle[60:64, 70:74] = particle[50:54, 100:104] = 0
    particle[70:74, 60:64] = particle[45:49, 85:89] = 0
    assert not_grain_ids(particle) is None


def test_a_grey_image_is_named_as_one():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (200, 200)).astype(np.uint8)
    assert "looks like a grey image or a class map" in not_grain_ids(grey)


def test_a_closed_pipe_ends_the_command_without_a_traceback(tmp_path):
    path = tmp_path / "labels.tif"
    tifffile.imwrite(path, _grains().astype(np.uint32))
    run = "import sys; from napari_microstructure.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", run, "measure", str(path), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before anything is written
    _, err = proc.communicate(timeout=240)
    assert b"Traceback" not in err and proc.returncode == 141
