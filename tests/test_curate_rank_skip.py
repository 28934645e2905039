"""The detector ranking skips unreadable images and says why, as the segmentation ranking does."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.io import imsave

import napari_microstructure  # noqa: F401  (offline ultralytics first)
from napari_microstructure.cli import main
from napari_microstructure.core.curate.active import rank_folder
from napari_microstructure.core.progress import run_to_end


def test_rank_folder_skips_a_corrupt_image(tmp_path, capsys):
    from napari_microstructure.core.detect import load_detector

    rng = np.random.default_rng(0)
    for i in range(2):
        image = (rng.random((96, 96)) * 255).astype(np.uint8)
        imsave(tmp_path / f"img{i}.png", image, check_contrast=False)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    det = load_detector(None)
    df = run_to_end(rank_folder(tmp_path, det, pixel_size=0.5, tta=False))
    assert sorted(df["name"]) == ["img0.png", "img1.png"] and list(df["rank"]) == [1, 2]
    (skip,) = df.attrs["skipped"]
    assert skip["name"] == "broken.png" and skip["path"].endswith("broken.png") and skip["error"]
    assert main(["rank", str(tmp_path), "--pixel-size", "0.5", "--no-tta", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in out["skipped"]] == ["broken.png"] and len(out["ranking"]) == 2
    for f in ("img0.png", "img1.png"):
        (tmp_path / f).unlink()
    with pytest.raises(ValueError, match="none of the 1 images could be scored"):
        run_to_end(rank_folder(tmp_path, det, pixel_size=0.5, tta=False))
