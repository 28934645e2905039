"""``napari-microstructure measure``: summary keys, CSV table, pixel size from file or option."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_microstructure.cli import main
from napari_microstructure.core.measure import summarize

KEYS = {"grain_count", "mean_intercept", "astm_g_intercept", "astm_g_planimetric", "mean_area"}


@pytest.fixture(scope="module")
def synthetic():
    from napari_microstructure.core.synthetic import generate

    return generate("etched", shape=(384, 384), pixel_size=0.5, seed=11)


def _write(path, array, pixel_size=None):
    kw = {}
    if pixel_size:
        kw = {"resolution": (1e4 / pixel_size,) * 2, "resolutionunit": "CENTIMETER"}
    tifffile.imwrite(path, array, **kw)
    return str(path)


def test_json_summary_uses_file_pixel_size(tmp_path, synthetic, capsys):
    path = _write(tmp_path / "grains.tif", synthetic.grains, pixel_size=0.5)
    csv_path = tmp_path / "grains.csv"
    assert main(["measure", path, "--json", "--csv", str(csv_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert KEYS | {"unit"} <= set(out)
    assert out["unit"] == "µm" and out["pixel_size"] == pytest.approx(0.5)
    expected = summarize(synthetic.grains, 0.5)
    for key in KEYS:
        assert out[key] == pytest.approx(expected[key])
    assert out["astm_g_intercept"] == pytest.approx(synthetic.truth["astm_g"], abs=0.05)
    table = pd.read_csv(csv_path)
    assert len(table) == out["grain_count"]
    assert "area [µm²]" in table.columns and "ecd [µm]" in table.columns


def test_pixel_size_option_overrides_and_absence_gives_null_g(tmp_path, synthetic, capsys):
    path = _write(tmp_path / "nocal.tif", synthetic.grains)
    assert main(["measure", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["unit"] == "px" and out["astm_g_intercept"] is None and "note" in out
    assert main(["measure", path, "--json", "--pixel-size", "0.25"]) == 0
    out2 = json.loads(capsys.readouterr().out)
    assert out2["mean_intercept"] == pytest.approx(out["mean_intercept"] * 0.25)
    assert out2["astm_g_intercept"] is not None


def test_phases_and_summary_file(tmp_path, synthetic, capsys):
    lab = _write(tmp_path / "g.tif", synthetic.grains, pixel_size=0.5)
    phases = (synthetic.grains % 4 == 0).astype(np.uint8)
    ph = _write(tmp_path / "p.tif", phases)
    summary = tmp_path / "summary.json"
    args = ["measure", lab, "--phases", ph, "--phase-names", "ferrite,pearlite"]
    assert main([*args, "--summary", str(summary)]) == 0
    text = capsys.readouterr().out
    assert "pearlite" in text and "ASTM E112 G" in text
    saved = json.loads(summary.read_text())
    assert saved["phase_fractions"]["pearlite"] == pytest.approx(phases.mean())


def test_bad_files_give_clear_errors(tmp_path, capsys):
    rgb = _write(tmp_path / "rgb.tif", np.zeros((32, 32, 3), np.uint8))
    assert main(["measure", rgb]) == 2
    assert "not a label image" in capsys.readouterr().err
    assert main(["measure", str(tmp_path / "missing.tif")]) == 2
    assert "no such file" in capsys.readouterr().err
    lab = _write(tmp_path / "l.tif", np.ones((32, 32), np.uint16))
    other = _write(tmp_path / "o.tif", np.ones((16, 16), np.uint8))
    assert main(["measure", lab, "--phases", other]) == 2
    assert "shape" in capsys.readouterr().err


def test_a_stack_of_planes_is_refused_one_plane_is_measured(tmp_path, capsys):
    lab = np.kron(np.arange(1, 101).reshape(10, 10), np.ones((10, 10))).astype(np.uint16)
    stack = _write(tmp_path / "labels.tif", np.stack([lab] * 5))
    assert main(["measure", stack, "--pixel-size", "1"]) == 2
    err = capsys.readouterr().err
    assert "labels.tif holds 5 planes of 100x100; measure takes one 2-D label image" in err
    one = _write(tmp_path / "one.tif", lab[None])
    assert main(["measure", one, "--pixel-size", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["grain_count"] == 100


def test_huge_label_ids_go_to_the_csv(tmp_path, capsys):
    lab = np.kron(np.arange(1, 26).reshape(5, 5), np.ones((10, 10))).astype(np.int64) + 2**40
    path = _write(tmp_path / "big_ids.tif", lab)
    csv_path = tmp_path / "big.csv"
    assert main(["measure", path, "--pixel-size", "1", "--csv", str(csv_path)]) == 0
    table = pd.read_csv(csv_path)
    assert sorted(table["label"]) == list(range(2**40 + 1, 2**40 + 26))
    assert (table["area [µm²]"] == 100).all()


def test_palette_png_labels_are_read_as_their_indices(tmp_path, capsys):
    from PIL import Image

    lab = np.zeros((60, 80), np.uint8)
    lab[:, 40:] = 1
    lab[30:, :] += 2  # four grains, ids 0..3 (0 is not a grain)
    img = Image.fromarray(lab, mode="P")
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
    img.save(tmp_path / "pal.png")
    assert main(["measure", str(tmp_path / "pal.png"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["grain_count"] == 3


def test_text_output_gives_the_intercept_by_direction(tmp_path, synthetic, capsys):
    path = _write(tmp_path / "grains.tif", synthetic.grains, pixel_size=0.5)
    assert main(["measure", path]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "intercept by direction" in x)
    assert "horizontal" in line and "vertical" in line and line.endswith("µm")
