"""``napari-microstructure detect``: JSON output, CSV and YOLO files, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_microstructure.cli import main


@pytest.fixture(scope="module")
def sample_png(tmp_path_factory):
    import cv2
    from _detect_data import defects_image

    img, objects = defects_image(
        320, 4242, n_inclusions=5, n_pores=3, n_cracks=0, n_precipitates=6, n_scratches=0
    )
    path = tmp_path_factory.mktemp("cli") / "sample.png"
    cv2.imwrite(str(path), img)
    return path, objects


def test_detect_json_and_files(sample_png, tmp_path, capsys):
    path, objects = sample_png
    rc = main(["detect", str(path), "--pixel-size", "0.5", "--json", "--out", str(tmp_path)])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["pixel_size_um"] == 0.5 and res["n_detections"] == len(res["detections"])
    assert res["n_detections"] >= len(objects) - 2
    d0 = res["detections"][0]
    assert set(d0) == {"class", "class_id", "confidence", "box"} and len(d0["box"]) == 4
    counts = {s["class_name"]: s["count"] for s in res["summary"]}
    assert sum(counts.values()) == res["n_detections"]
    csv = pd.read_csv(tmp_path / "sample_detections.csv")
    assert len(csv) == res["n_detections"]
    lines = (tmp_path / "sample.txt").read_text().splitlines()
    assert len(lines) == res["n_detections"]
    cls, cx, cy, w, h, conf = lines[0].split()
    x1, y1, x2, y2 = d0["box"]
    assert float(cx) == pytest.approx((x1 + x2) / 2 / 320, abs=1e-4)
    assert float(h) == pytest.approx((y2 - y1) / 320, abs=1e-4)


def test_detect_uses_file_pixel_size_and_reports_errors(tmp_path, capsys):
    img = np.full((200, 260), 200, np.uint8)
    tif = tmp_path / "calibrated.tif"
    tifffile.imwrite(tif, img, resolution=(1 / 0.25e-4, 1 / 0.25e-4), resolutionunit="CENTIMETER")
    assert main(["detect", str(tif), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["pixel_size_um"] == pytest.approx(0.25)
    assert main(["detect", str(tmp_path / "missing.png")]) == 2
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nonsense")
    assert main(["detect", str(tif), "--model", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "not a readable PyTorch checkpoint" in err
    assert main(["detect", str(tif), "--classes", "unicorn"]) == 2
    assert "unknown class 'unicorn'" in capsys.readouterr().err


def test_inputs_of_the_same_name_keep_their_own_files_and_kept_classes_alone_are_summed(
    sample_png, tmp_path, capsys
):
    import shutil

    path, _ = sample_png
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(path, tmp_path / sub / "img.png")
    out = tmp_path / "out"
    args = [str(tmp_path / "a" / "img.png"), str(tmp_path / "b" / "img.png")]
    assert main(["detect", *args, "--json", "--out", str(out), "--classes", "pore"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [len(r["files"]) for r in res] == [3, 3]
    assert {p.name for p in out.glob("*.txt")} == {"img.txt", "img-2.txt"}
    for r in res:
        assert [s["class_name"] for s in r["summary"]] == ["pore"]
        assert {d["class"] for d in r["detections"]} <= {"pore"}
