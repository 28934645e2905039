"""Of a file of several planes the commands process plane 0 only, and every one of them says
so (grains, detect, explain, batch; classify in test_classify_review25)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_microstructure.cli import main
from napari_microstructure.core.batch import run_batch
from napari_microstructure.core.imageio import read_micrograph
from napari_microstructure.core.pipeline import PipelineConfig
from napari_microstructure.core.synthetic import generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")
NOTE = "file has 3 planes; plane 0 was"


def _grey(seed: int) -> np.ndarray:
    image = generate("etched", shape=(128, 128), seed=seed).image
    return image[..., 0] if image.ndim == 3 else image


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    planes = [_grey(s) for s in (1, 2, 3)]
    path = tmp_path_factory.mktemp("stack") / "series.tif"
    tifffile.imwrite(path, np.stack(planes), photometric="minisblack")  # planes, not RGB
    return path


def test_the_note_names_the_planes_of_a_stack_only(stack, tmp_path):
    assert read_micrograph(stack).plane_note("used") == "file has 3 planes; plane 0 was used"
    single = tmp_path / "one.tif"
    tifffile.imwrite(single, np.zeros((3, 32, 32, 3), np.uint8)[0])  # colour: one plane
    assert read_micrograph(single).plane_note() is None


def test_grains_detect_and_explain_say_they_took_plane_0(stack, tmp_path, capsys):
    assert main(["grains", str(stack), "--pixel-size", "0.5", "--json"]) == 0
    assert NOTE + " segmented" in json.loads(capsys.readouterr().out)["note"]
    assert main(["detect", str(stack), "--pixel-size", "0.5", "--json"]) == 0
    assert NOTE + " searched" in json.loads(capsys.readouterr().out)["note"]
    out = tmp_path / "map.tif"
    assert main(["explain", str(stack), "--out", str(out), "--json"]) == 0
    assert NOTE + " explained" in json.loads(capsys.readouterr().out)["warning"]


def test_batch_rows_say_they_took_plane_0(stack, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / stack.name).write_bytes(stack.read_bytes())
    tifffile.imwrite(src / "single.tif", _grey(4))
    cfg = PipelineConfig(grains={"engine": "classical"}, pixel_size=0.5)
    run_batch(src, tmp_path / "out", cfg, workers=0)
    table = pd.read_csv(tmp_path / "out" / "results.csv").set_index("image")
    assert NOTE + " processed" in table.loc["series.tif", "warning"]
    assert pd.isna(table.loc["single.tif", "warning"])
