"""A file's note (a calibration refused: pixels that are not square) reaches every result that
falls back on another pixel size or on pixels: a batch row, train-cls's warnings, the JSON note
of grains / measure / detect; segment tells when an image without a pixel size meets a model
trained at one; the Pixel size dock names a scale that is not square."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import tifffile
from _notices import captured_messages
from skimage.io import imsave

import napari_microstructure.widgets._segment_unet as unet_mod
from napari_microstructure.cli import main
from napari_microstructure.core.synthetic import generate

NOT_SQUARE = "the pixels are not square (0.5 µm wide, 1 µm high"


def _non_square(path: Path, image: np.ndarray) -> Path:
    """``image`` as a TIFF of 0.5 µm wide, 1 µm high pixels (resolution tags per cm)."""
    tifffile.imwrite(path, image, resolution=(1e4 / 0.5, 1e4 / 1.0), resolutionunit="CENTIMETER")
    return path


@pytest.fixture(scope="module")
def etched(tmp_path_factory) -> Path:
    m = generate("etched", shape=(128, 128), seed=4)
    return _non_square(tmp_path_factory.mktemp("nonsq") / "nonsq.tif", m.image)


def test_batch_row_says_the_pipeline_pixel_size_replaced_a_refused_calibration(etched, tmp_path):
    from napari_microstructure.core.batch.process import process_image

    config = {"grains": {"engine": "classical"}, "pixel_size": 0.25}
    row = process_image(etched, "nonsq.tif", tmp_path, config)
    assert row["status"] == "ok" and row["pixel_size"] == 0.25
    assert row["pixel_size_source"] == "pipeline"
    assert NOT_SQUARE in row["warning"]
    assert (
        "pipeline's pixel size for files without a usable calibration (0.25 µm/px) was used"
        in row["warning"]
    )
    saved = json.loads((tmp_path / "images" / "nonsq.tif" / "result.json").read_text("utf-8"))
    assert saved["warning"] == row["warning"]
    # without a fallback the note alone: the image is measured in pixels
    row = process_image(etched, "nonsq.tif", tmp_path / "px", {"grains": {"engine": "classical"}})
    assert row["pixel_size"] is None and NOT_SQUARE in row["warning"]
    assert "was used" not in row["warning"]


def test_train_cls_warns_of_a_default_used_for_a_refused_calibration(tmp_path, capsys):
    from napari_microstructure.core.classify.synthetic_set import (
        synthetic_samples,
        write_class_folder,
    )

    samples = synthetic_samples(["ferrite_fine", "bainite"], 3, seed=3, shape=(96, 96))
    root = write_class_folder(tmp_path / "set", samples)
    _non_square(root / "bainite" / "nonsq.tif", samples[-1].image)
    sizes = json.loads((root / "pixel_sizes.json").read_text("utf-8"))
    (root / "pixel_sizes.json").write_text(json.dumps({**sizes, "default": 3.0}), "utf-8")
    out = tmp_path / "m.pt"
    assert main(["train-cls", str(root), "--out", str(out), "--steps", "2", "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    mine = [w for w in warnings if w.startswith("bainite/nonsq.tif: ")]
    assert len(mine) == 1 and NOT_SQUARE in mine[0]
    assert 'the "default" of pixel_sizes.json (3 µm/px) was used instead' in mine[0]
    # classifying the file names the refused calibration in its row's note
    assert (
        main(["classify", str(root / "bainite" / "nonsq.tif"), "--model", str(out), "--json"]) == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert NOT_SQUARE in json.dumps(rows, ensure_ascii=False)
    from napari_microstructure.core.classify import classify_files, load_classifier
    from napari_microstructure.core.progress import run_to_end

    table = run_to_end(
        classify_files(load_classifier(out), [root / "bainite" / "nonsq.tif"], n_crops=2)
    )
    assert NOT_SQUARE in table["note"][0]  # the Classify dock's folder table


def test_grains_measure_detect_json_notes_give_the_files_reason(etched, tmp_path, capsys):
    labels = tmp_path / "labels.tif"
    assert main(["grains", str(etched), "--json", "--labels-out", str(labels)]) == 0
    assert NOT_SQUARE in json.loads(capsys.readouterr().out)["note"]
    lab = tifffile.imread(labels)
    _non_square(tmp_path / "lab_nonsq.tif", lab)
    assert main(["measure", str(tmp_path / "lab_nonsq.tif"), "--json"]) == 0
    note = json.loads(capsys.readouterr().out)["note"]
    assert note.startswith("no pixel size") and NOT_SQUARE in note
    assert main(["measure", str(tmp_path / "lab_nonsq.tif"), "--json", "--pixel-size", "1"]) == 0
    assert NOT_SQUARE not in json.loads(capsys.readouterr().out).get("note", "")
    assert main(["detect", str(etched), "--json"]) == 0
    assert NOT_SQUARE in json.loads(capsys.readouterr().out)["note"]


@pytest.fixture(scope="module")
def model_05(tmp_path_factory) -> Path:
    from napari_microstructure.core.segment import new_model

    model = new_model("phases", ["a", "b"], base=4, depth=2, pixel_size=0.5)
    return model.save(tmp_path_factory.mktemp("m") / "m.pt")


def test_segment_tells_that_an_image_without_pixel_size_was_used_as_is(model_05, tmp_path, capsys):
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.segment import load_model, segment_image

    image = generate("ferrite_pearlite", shape=(64, 64), seed=1).image
    model = load_model(model_05)
    note = run_to_end(segment_image(image, model)).scale_note
    assert "no pixel size: used as is (the model was trained at 0.5 µm/px)" in note
    assert run_to_end(segment_image(image, model, 0.25)).scale_note is None
    imsave(tmp_path / "plain.png", image, check_contrast=False)
    args = ["segment", str(tmp_path / "plain.png"), "--model", str(model_05)]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    warning = json.loads(capsys.readouterr().out)["results"][0]["warning"]
    assert "the model was trained at 0.5 µm/px" in warning
    assert main([*args, "--out", str(tmp_path / "o2"), "--pixel-size", "0.5"]) == 0
    assert "warning" not in json.loads(capsys.readouterr().out)["results"][0]


def test_load_pairs_names_uncalibrated_images_trained_beside_calibrated(tmp_path, caplog):
    from napari_microstructure.core.segment.data import load_pairs

    (tmp_path / "im").mkdir()
    (tmp_path / "mk").mkdir()
    for i, ps in enumerate((0.5, None, 0.5)):
        m = generate("etched", shape=(64, 64), seed=i)
        res = {} if ps is None else {"resolution": (1e4 / ps,) * 2, "resolutionunit": "CENTIMETER"}
        tifffile.imwrite(tmp_path / "im" / f"i{i}.tif", m.image, **res)
        mask = np.where(m.boundaries, 255, 0).astype(np.uint8)
        imsave(tmp_path / "mk" / f"i{i}.png", mask, check_contrast=False)
    with caplog.at_level(logging.WARNING, "napari_microstructure.core.segment.data"):
        pairs = load_pairs(tmp_path / "im", tmp_path / "mk", "boundaries")
    assert [p.pixel_size for p in pairs] == [0.5, None, 0.5]
    told = [r.getMessage() for r in caplog.records if "no pixel size" in r.getMessage()]
    assert len(told) == 1 and "1 image(s)" in told[0] and "i1.tif" in told[0]
    assert "i0.tif" not in told[0] and "0.5 µm/px" in told[0]


def test_segment_dock_warns_of_a_prediction_at_the_images_own_scale(
    make_napari_viewer, settings_home, model_05, qtbot, monkeypatch
):
    viewer = make_napari_viewer()
    viewer.add_image(generate("ferrite_pearlite", shape=(64, 64), seed=1).image, name="steel")
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Segment")
    shown = captured_messages(monkeypatch, unet_mod)
    widget.model_path = model_05
    assert widget.predict() is not None
    qtbot.waitUntil(
        lambda: widget.prediction_layer is not None and not widget.busy, timeout=60_000
    )
    assert any("the model was trained at 0.5 µm/px" in s for s in shown)


def test_pixel_size_dock_names_a_scale_that_is_not_square(make_napari_viewer):
    from napari_microstructure.widgets.scale import ScaleWidget

    viewer = make_napari_viewer()
    layer = viewer.add_image(np.zeros((40, 50), np.uint8), name="img")
    widget = ScaleWidget(viewer)
    assert widget._found.value == "unknown: measurements are in pixels"
    layer.scale = (0.3, 0.6)
    assert widget.pixel_size is None
    assert (
        widget._found.value == "not square (0.6 µm wide, 0.3 µm high): measurements are in pixels"
    )
    layer.units = ("nm", "nm")
    layer.scale = (300, 600)
    assert widget._found.value.startswith("not square (0.6 µm wide, 0.3 µm high)")


def test_a_calibrated_file_carries_only_what_concerns_its_calibration(tmp_path, capsys):
    # (review of this session: every reader note was carried, so a calibrated white-is-zero
    # TIFF got a batch warning and JSON notes that read as a problem with its pixel size)
    from napari_microstructure.core.batch.process import process_image

    m = generate("etched", shape=(128, 128), seed=4)
    white = tmp_path / "white.tif"
    tifffile.imwrite(
        white,
        255 - m.image,
        photometric="miniswhite",
        resolution=(2e4, 2e4),
        resolutionunit="CENTIMETER",
    )
    row = process_image(white, "white.tif", tmp_path / "out", {"grains": {"engine": "classical"}})
    assert row["pixel_size"] == pytest.approx(0.5) and not row.get("warning")
    assert main(["grains", str(white), "--json"]) == 0
    assert not json.loads(capsys.readouterr().out).get("note")
    assert main(["detect", str(white), "--json"]) == 0
    assert not json.loads(capsys.readouterr().out).get("note")


def test_rank_with_a_segmentation_model_ignores_an_ood_weight_as_its_other_options(
    tmp_path, capsys
):
    from test_curate_rank_seg import tiny_model

    pool = tmp_path / "pool"
    pool.mkdir()
    image = generate("ferrite_pearlite", shape=(64, 64), seed=1).image
    tifffile.imwrite(pool / "a.tif", image)
    model = tmp_path / "seg.pt"
    tiny_model().save(model)
    assert main(["rank", str(pool), "--model", str(model), "--weight", "ood=1", "--json"]) == 0
    assert main(["rank", str(pool), "--model", str(model), "--weight", "ood=1"]) == 0
    detector = main(["rank", str(pool), "--weight", "ood=1"])  # the demo detector: refused
    assert detector == 2 and "needs --reference" in capsys.readouterr().err
