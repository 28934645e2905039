"""`grains` output files: never over the input or each other, always the named format, and a
blank image says in its JSON that its grain size means nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_microstructure.cli import main
from napari_microstructure.core.synthetic import generate


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "micrograph.png"
    Image.fromarray(generate("etched", shape=(96, 96), seed=1).image).save(path)
    return path


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--boundaries-out", "{img}"], "input image"),
        (["--labels-out", "{dir}/l.tif", "--boundaries-out", "{dir}/micrograph.png"], "input"),
        (["--boundaries-out", "{dir}/x.png", "--labels-out", "{dir}/x.png"], "must end in .tif"),
        (["--boundaries-out", "{dir}/b"], "must end in .png"),
        (["--boundaries-out", "{dir}/b.jpg"], "must end in .png"),
        (["--labels-out", "{dir}/l.png"], "must end in .tif"),
    ],
)  # fmt: skip
def test_outputs_that_would_lose_data_or_format_are_refused(image, capsys, extra, says):
    before = image.read_bytes()
    args = [a.format(img=image, dir=image.parent) for a in extra]
    assert main(["grains", str(image), *args]) == 2
    assert says in capsys.readouterr().err
    assert image.read_bytes() == before
    assert sorted(p.name for p in image.parent.iterdir()) == ["micrograph.png"]


def test_both_outputs_written_and_one_file_for_both_refused(image, tmp_path, capsys):
    args = ["--boundaries-out", str(tmp_path / "x.PNG"), "--labels-out", str(tmp_path / "x.tif")]
    assert main(["grains", str(image), *args]) == 0
    assert Image.open(tmp_path / "x.PNG").format == "PNG"
    assert set(np.unique(np.asarray(Image.open(tmp_path / "x.PNG")))) == {0, 255}
    assert tifffile.imread(tmp_path / "x.tif").dtype == np.uint32
    (tmp_path / "y.tif").symlink_to(tmp_path / "b.png")  # one file under two names
    args = ["--boundaries-out", str(tmp_path / "b.png"), "--labels-out", str(tmp_path / "y.tif")]
    assert main(["grains", str(image), *args]) == 2
    assert "name the same file" in capsys.readouterr().err
    assert not (tmp_path / "b.png").exists()


def test_a_blank_image_has_no_grain_size_in_its_json(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((64, 64), 120, np.uint8)).save(blank)
    assert main(["grains", str(blank), "--pixel-size", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["grain_count"] == 1
    assert out["astm_g_intercept"] is None and out["astm_g_planimetric"] is None
    assert out["astm_g_planimetric_ci95"] is None
    assert "no grain boundaries found" in out["warning"]
    good = generate("etched", shape=(96, 96), seed=1).image
    Image.fromarray(good).save(tmp_path / "good.png")
    assert main(["grains", str(tmp_path / "good.png"), "--pixel-size", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "warning" not in out and out["astm_g_planimetric"] is not None
