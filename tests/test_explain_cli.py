"""``napari-microstructure explain``: writes a float32 0..1 map at the image size; clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_microstructure.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _image(path):
    rng = np.random.default_rng(1)
    img = rng.integers(140, 180, (200, 240)).astype(np.uint8)
    img[50:70, 60:80] = 20
    tifffile.imwrite(path, img)
    return img


def test_explain_cli_writes_map(tmp_path, capsys):
    img = _image(tmp_path / "img.tif")
    out = tmp_path / "map.tif"
    code = main(
        ["explain", str(tmp_path / "img.tif"), "--out", str(out), "--pixel-size", "0.5", "--json"]
    )
    assert code == 0
    sal = tifffile.imread(out)
    assert sal.shape == img.shape and sal.dtype == np.float32
    assert sal.min() >= 0 and sal.max() == pytest.approx(1.0)
    assert '"method": "eigencam"' in capsys.readouterr().out
    out2 = tmp_path / "grad.tif"
    assert (
        main(
            [
                "explain",
                str(tmp_path / "img.tif"),
                "--method",
                "gradcam",
                "--out",
                str(out2),
                "--conf",
                "0.05",
            ]
        )
        == 0
    )
    assert tifffile.imread(out2).shape == img.shape


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--out", "x.png"], "must end in .tif"),
        (["--out", "{tmp}/nowhere/x.tif"], "output folder does not exist"),
        (["--out", "{tmp}/m.tif", "--model", "{tmp}/missing.pt"], "not found"),
        (["--out", "{tmp}/m.tif", "--pixel-size", "-1"], "positive"),
    ],
)
def test_explain_cli_errors(tmp_path, capsys, extra, message):
    _image(tmp_path / "img.tif")
    args = ["explain", str(tmp_path / "img.tif")] + [a.format(tmp=tmp_path) for a in extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_explain_cli_unreadable_image(tmp_path, capsys):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not an image")
    assert main(["explain", str(bad), "--out", str(tmp_path / "m.tif")]) == 2
    assert "error" in capsys.readouterr().err


def test_gradcam_without_any_detection_is_an_empty_map_with_a_warning(tmp_path, capsys):
    """It explained the ten weakest guesses instead, drawn at full contrast."""
    import json

    import cv2

    rng = np.random.default_rng(0)
    blank = cv2.GaussianBlur(rng.integers(110, 150, (256, 256)).astype(np.uint8), (0, 0), 2)
    tifffile.imwrite(tmp_path / "blank.tif", blank)
    out = tmp_path / "grad.tif"
    args = ["explain", str(tmp_path / "blank.tif"), "--method", "gradcam", "--out", str(out)]
    assert main([*args, "--pixel-size", "0.5", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert not tifffile.imread(out).any()
    assert "no detection reaches the confidence threshold 0.25" in summary["warning"]
