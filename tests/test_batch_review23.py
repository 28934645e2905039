"""Batch review 23: non-UTF-8 names, a file under two keys, the report's statistics and notes."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage as ndi

from napari_microstructure.core.batch import run_batch
from napari_microstructure.core.pipeline import PipelineConfig
from napari_microstructure.core.synthetic import generate

GRAINS = {"engine": "classical"}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "batch.md"


def _etched(path: Path, seed: int, size: int = 160) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, generate("etched", shape=(size, size), seed=seed).image)


def _key_numbers(out: Path) -> dict[str, str]:
    text = (out / "report.html").read_text(encoding="utf-8")
    return dict(re.findall(r"<tr><th>([^<]*)</th><td>([^<]*)</td></tr>", text))


def _g_row(numbers: dict[str, str], which: str) -> str:
    (value,) = [v for k, v in numbers.items() if k.startswith(f"G ({which})")]
    return value


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="names are Unicode there")
def test_a_name_that_is_not_utf8_is_processed_and_written_readably(tmp_path):
    src = tmp_path / "in"
    _etched(src / "ok.png", 1, 128)
    (Path(os.fsdecode(os.fsencode(src) + b"/caf\xe9.png"))).write_bytes(
        (src / "ok.png").read_bytes()
    )
    out = tmp_path / "out"
    cfg = PipelineConfig(grains=dict(GRAINS))
    res = run_batch(src, out, cfg, workers=0)
    assert (res.processed, res.failed) == (2, 0)
    table = pd.read_csv(out / "results.csv", encoding="utf-8")
    assert list(table["image"]) == ["caf\\xe9.png", "ok.png"]
    assert (table["status"] == "ok").all() and table["grain_count"].iloc[0] > 5
    assert table["grain_count"].iloc[0] == table["grain_count"].iloc[1]  # the same pixels
    assert _key_numbers(out)["images"] == "2"
    folder = Path(os.fsdecode(os.fsencode(out) + b"/images/caf\xe9.png"))
    row = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert row["image"] == "caf\\xe9.png" and row["path"].endswith("caf\\xe9.png")
    # a resume skips both (the source recorded readably is recognised as the same file)
    again = run_batch(src, out, cfg, workers=0)
    assert (again.processed, again.skipped) == (0, 2)


def test_a_long_key_that_is_not_utf8_is_cut_to_a_folder_name():
    from napari_microstructure.core.batch.inputs import MAX_KEY_BYTES, _key

    rel = Path(os.fsdecode(b"d\xe9" * 100)) / os.fsdecode(b"caf\xe9" * 30 + b".png")
    key = _key(rel)
    assert key.startswith("~") and len(os.fsencode(key)) <= MAX_KEY_BYTES
    assert os.fsencode(key).endswith(b"caf\xe9.png")


def test_the_same_file_under_another_key_is_skipped_not_counted_twice(tmp_path, caplog):
    src, out = tmp_path / "in", tmp_path / "out"
    _etched(src / "a.png", 1)
    _etched(src / "day2" / "b.png", 2)
    cfg = PipelineConfig(grains=dict(GRAINS), pixel_size=0.25)
    assert run_batch(src, out, cfg, workers=0, recursive=True).processed == 2
    with caplog.at_level(logging.WARNING):
        for later in (src / "day2", src / "day2" / "b.png"):  # a sub-folder, a single file
            res = run_batch(later, out, cfg, workers=0)
            assert (res.processed, res.skipped) == (0, 1)
    assert "day2__b.png" in caplog.text and "skipped" in caplog.text
    table = pd.read_csv(out / "results.csv")
    assert list(table["image"]) == ["a.png", "day2__b.png"]
    assert sorted(os.listdir(out / "images")) == ["a.png", "day2__b.png"]
    assert _key_numbers(out)["images"] == "2"


def _flagged_folder(src: Path) -> None:
    for s in (1, 2):
        _etched(src / f"etched{s}.png", s, 256)
    # grains the engine finds, but too dark to trust: flagged, with a G of its own
    dark = generate("etched", shape=(256, 256), seed=3).image.astype(float) * 0.07
    iio.imwrite(src / "dark.png", dark.astype(np.uint8))


def test_report_statistics_leave_flagged_images_out(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _flagged_folder(src)
    run_batch(src, out, PipelineConfig(grains=dict(GRAINS), pixel_size=0.5), workers=0)
    table = pd.read_csv(out / "results.csv").set_index("image")
    assert "too_dark" in table.loc["dark.png", "flags"]
    assert np.isfinite(table.loc["dark.png", "astm_g_planimetric"])  # it has a G of its own
    good = table.loc[["etched1.png", "etched2.png"], "astm_g_planimetric"]
    value = _g_row(_key_numbers(out), "planimetric")
    assert value.startswith(f"{good.mean():.2f} ± {good.std():.2f} ")
    assert "n = 2" in value and "1 flagged image left out" in value
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "leave out the 1 image(s) flagged" in report
    from napari_microstructure.core.batch.aggregate import pooled_sizes

    assert pooled_sizes(out, skip={"dark.png"}).skipped == 1


def test_key_numbers_give_n_no_sd_of_one_and_time_over_ok_rows(tmp_path):
    import tifffile

    src, out = tmp_path / "in", tmp_path / "out"
    img = generate("etched", shape=(160, 160), seed=5).image
    src.mkdir()
    tifffile.imwrite(src / "calib.tif", img, resolution=(2e4, 2e4), resolutionunit="CENTIMETER")
    _etched(src / "plain.png", 6)
    (src / "notes.txt").write_text("not an image")
    res = run_batch(src, out, PipelineConfig(grains=dict(GRAINS)), workers=0)
    assert (res.processed, res.failed) == (3, 1)
    numbers = _key_numbers(out)
    assert "processed" not in numbers  # the CLI's "processed" counts this run, failed included
    assert (numbers["images"], numbers["ok"], numbers["failed"]) == ("3", "2", "1")
    value = _g_row(numbers, "intercept")  # only the calibrated image has a G
    assert " ± – " in value and value.endswith("n = 1")
    table = pd.read_csv(out / "results.csv")
    ok_mean = table.loc[table["status"] == "ok", "seconds"].mean()
    assert numbers["mean time per ok image"] == f"{ok_mean:.2f} s (n = 2)"


def _with_blank(src: Path) -> Path:
    _etched(src / "etched1.png", 1)
    iio.imwrite(src / "blank.png", np.full((160, 160), 128, np.uint8))
    return src


def test_no_grain_table_note(tmp_path):
    src = _with_blank(tmp_path / "in")
    no_table = PipelineConfig(
        grains=dict(GRAINS), pixel_size=0.5, measure={"enabled": True, "table": False}
    )
    run_batch(src, tmp_path / "nt", no_table, workers=0)
    report = (tmp_path / "nt" / "report.html").read_text(encoding="utf-8")
    assert "Grain size distribution" not in report
    assert "No grain size distribution" in report and "measure.table: false" in report


def test_grain_count_is_in_the_row_without_measurement(tmp_path):
    src = _with_blank(tmp_path / "in")
    no_measure = PipelineConfig(
        grains=dict(GRAINS), pixel_size=0.5, measure={"enabled": False, "table": True}
    )
    run_batch(src, tmp_path / "nm", no_measure, workers=0)
    table = pd.read_csv(tmp_path / "nm" / "results.csv").set_index("image")
    assert table.loc["etched1.png", "grain_count"] > 20
    assert table.loc["blank.png", "grain_count"] < 2
    assert "no_structure" in table.loc["blank.png", "flags"]  # judged on that count


def test_documented_blur_range_holds(tmp_path):
    text = " ".join(DOCS.read_text(encoding="utf-8").split())
    found = re.search(r"3 px Gaussian blur brings them to ([0-9]+\.[0-9]+)–([0-9]+\.[0-9]+)", text)
    assert found, "docs/batch.md states the sharpness of a 3 px blur"
    lo, hi = map(float, found.groups())
    from napari_microstructure.core.batch.quality import image_quality

    for seed in (9, 14):  # the two blurred etched images of 256 px scoring highest
        im = generate("etched", shape=(256, 256), seed=seed).image
        blurred = ndi.gaussian_filter(im.astype(float), 3).round().astype(np.uint8)
        q = image_quality(blurred)
        assert lo <= round(q["sharpness"], 3) <= hi
        assert q["sharpness"] > 0.05 and "blurred" not in q["flags"]  # documented: not all


def test_no_report_run_removes_the_stale_report(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _etched(src / "a.png", 1)
    cfg = PipelineConfig(grains=dict(GRAINS), pixel_size=0.25)
    run_batch(src, out, cfg, workers=0)
    assert (out / "report.html").is_file()
    _etched(src / "b.png", 2)
    run_batch(src, out, cfg, workers=0, report=False)
    assert len(pd.read_csv(out / "results.csv")) == 2
    assert not (out / "report.html").exists()
