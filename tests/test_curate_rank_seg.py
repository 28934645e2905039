"""Ranking images for annotation by a segmentation model's pixel uncertainty: core and CLI."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import tifffile
import torch

from napari_microstructure.cli import main
from napari_microstructure.core.curate.active_seg import (
    is_segmentation_model,
    load_ranking_model,
    rank_folder_seg,
    rank_images_seg,
)
from napari_microstructure.core.detect import DEMO_MODEL
from napari_microstructure.core.imageio import read_micrograph
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.segment import (
    TrainConfig,
    image_uncertainty,
    new_model,
    synthetic_pairs,
    train_model,
)
from napari_microstructure.core.synthetic import generate

#: file name -> (synthetic kind, seed, pixel size recorded in the file or None)
IMAGES = {
    "a.tif": ("ferrite_pearlite", 1, 0.5),
    "b.tif": ("precipitates", 2, 1.0),  # twice the model's pixel size: predicted at 2x
    "c.tif": ("etched", 3, None),
    "d.tif": ("defects", 4, 0.25),
}


def write_folder(folder, images=IMAGES, size=96):
    """Micrographs with their pixel sizes in the TIFF tags, and one unreadable file."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (kind, seed, ps) in images.items():
        image = generate(kind, shape=(size, size), pixel_size=0.5, seed=seed).image
        if ps is None:
            tifffile.imwrite(folder / name, image)
        else:
            res = (1 / ps, 1 / ps)
            tifffile.imwrite(
                folder / name, image, imagej=True, resolution=res, metadata={"unit": "micron"}
            )
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


def tiny_model(task="phases", seed=0):
    torch.manual_seed(seed)
    classes = ["matrix", "a", "b"] if task == "phases" else ["interior", "boundary"]
    return new_model(task, classes, base=4, depth=2, pixel_size=0.5)


def train_phases():
    """A tiny phases U-Net trained for a second on synthetic ferrite-pearlite images: its
    uncertainty differs from image to image (an untrained one is near 1 everywhere)."""
    torch.set_num_threads(1)
    pairs = synthetic_pairs("phases", n=4, shape=(96, 96), kinds=("ferrite_pearlite",), seed=10)
    cfg = TrainConfig(
        task="phases",
        epochs=5,
        steps_per_epoch=10,
        batch_size=4,
        crop=48,
        base=4,
        depth=2,
        val_fraction=0,
        pixel_size=0.5,
    )
    return run_to_end(train_model(pairs, cfg))


@pytest.fixture(scope="module")
def phases_model():
    return train_phases()


def expected_uncertainty(folder, model):
    """image_uncertainty of each readable file at the pixel size the file records."""
    out = {}
    for name in IMAGES:
        mf = read_micrograph(folder / name)
        out[name] = image_uncertainty(mf.data, model, mf.pixel_size)
    return out


def test_ranking_follows_the_models_pixel_uncertainty(tmp_path, phases_model):
    folder = write_folder(tmp_path / "pool")
    model = phases_model
    messages, fractions = [], []

    def seen(p):
        messages.append(p.message)
        fractions.append(p.fraction)

    df = run_to_end(rank_folder_seg(folder, model), seen)
    want = expected_uncertainty(folder, model)
    # four distinct values, so the order below is a real test of the sorting
    assert len({round(v, 3) for v in want.values()}) == 4
    assert list(df["name"]) == sorted(want, key=want.get, reverse=True)
    assert list(df["rank"]) == [1, 2, 3, 4]
    for row in df.itertuples():
        assert row.uncertainty == pytest.approx(want[row.name], rel=1e-5, abs=1e-7)
        assert row.score == row.uncertainty
    # each file's own pixel size was used: b.tif at 1 µm/px differs from b.tif taken as is
    b = df.set_index("name").loc["b.tif"]
    assert b["pixel_size"] == pytest.approx(1.0)
    data = read_micrograph(folder / "b.tif").data
    assert abs(b["uncertainty"] - image_uncertainty(data, model, None)) > 1e-3
    assert np.isnan(df.set_index("name").loc["c.tif", "pixel_size"])
    # the unreadable file is reported and skipped, not fatal
    assert [s["name"] for s in df.attrs["skipped"]] == ["broken.png"]
    assert any(m.startswith("skipped broken.png") for m in messages)
    assert any(m.startswith("scoring a.tif") for m in messages)
    assert np.all(np.diff(fractions) >= 0) and fractions[-1] == 1.0


def test_override_pixel_size_and_arrays(tmp_path, phases_model):
    model = phases_model
    images = [generate("precipitates", (80, 80), 0.5, seed=s).image for s in range(3)]
    df = run_to_end(rank_images_seg(images, model, pixel_size=1.0, names=["x", "y", "z"]))
    want = {n: image_uncertainty(im, model, 1.0) for n, im in zip("xyz", images, strict=True)}
    assert list(df["name"]) == sorted(want, key=want.get, reverse=True)
    assert (df["path"] == "").all() and (df["pixel_size"] == 1.0).all()
    with pytest.raises(ValueError, match="no images"):
        run_to_end(rank_images_seg([], model))
    (tmp_path / "bad.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="none of the 1 images"):
        run_to_end(rank_images_seg([tmp_path / "bad.png"], model))


def test_boundaries_model_puts_a_blank_field_last():
    model = tiny_model("boundaries")
    images = [
        generate("etched", (96, 96), 0.5, seed=1).image,
        np.full((96, 96), 120, np.uint8),  # nothing to draw boundaries on
        generate("tint", (96, 96), 0.5, seed=2).image,
    ]
    df = run_to_end(rank_images_seg(images, model, names=["etched", "blank", "tint"]))
    assert df["name"].iloc[-1] == "blank"
    assert df["uncertainty"].iloc[-1] < 1e-5 < 0.01 < df["uncertainty"].iloc[:2].min()


def test_load_ranking_model_tells_the_kinds_apart(tmp_path):
    seg = tiny_model().save(tmp_path / "phases.pt")
    assert is_segmentation_model(load_ranking_model(seg))
    detector = load_ranking_model(DEMO_MODEL)
    assert not is_segmentation_model(detector) and detector.names
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="neither a segmentation model"):
        load_ranking_model(tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="not found"):
        load_ranking_model(tmp_path / "missing.pt")


def test_cli_rank_with_a_segmentation_model(tmp_path, capsys, caplog, phases_model):
    folder = write_folder(tmp_path / "pool")
    model = phases_model
    path = model.save(tmp_path / "phases.pt")
    want = expected_uncertainty(folder, model)
    assert main(["rank", str(folder), "--model", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == str(path) and out["task"] == "phases"
    ranking = out["ranking"]
    names = [r["name"] for r in ranking]
    assert names == sorted(want, key=want.get, reverse=True)
    assert [r["rank"] for r in ranking] == [1, 2, 3, 4]
    for r in ranking:
        assert r["uncertainty"] == pytest.approx(want[r["name"]], rel=1e-5, abs=1e-7)
        assert r["score"] == r["uncertainty"] and "index" not in r and "digest" not in r
    assert [s["name"] for s in out["skipped"]] == ["broken.png"]
    # detector options are ignored with a warning; --top keeps the first
    with caplog.at_level(logging.WARNING):
        args = ["rank", str(folder), "--model", str(path), "--json", "--top", "1"]
        assert main([*args, "--diversity", "0.5"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)["ranking"]] == names[:1]
    assert "--diversity" in caplog.text
    # text output: one line per image, most uncertain first
    assert main(["rank", str(folder), "--model", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[-1].rsplit("/", 1)[-1] for line in lines] == names
    # neither a segmentation model nor a detector: a clear error, no traceback
    (tmp_path / "junk.pt").write_bytes(b"junk")
    assert main(["rank", str(folder), "--model", str(tmp_path / "junk.pt")]) == 2
    assert "neither a segmentation model" in capsys.readouterr().err


def test_cli_rank_with_a_detector_keeps_its_keys(tmp_path, capsys):
    folder = tmp_path / "pool"
    folder.mkdir()
    for s in range(2):
        image = generate("defects", (96, 96), 0.5, seed=s).image
        tifffile.imwrite(folder / f"d{s}.tif", image)
    assert main(["rank", str(folder), "--model", str(DEMO_MODEL), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"model", "ranking", "skipped"} and out["skipped"] == []
    row = out["ranking"][0]
    assert {"rank", "path", "score", "entropy", "tta", "density", "priority"} <= set(row)
    assert "uncertainty" not in row
