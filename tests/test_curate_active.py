"""Active-learning signals and ranking; the export / rank / train commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _curate_helpers import COUNTS, synthetic_project, tiny_detector

import napari_microstructure  # noqa: F401
from napari_microstructure.cli import main
from napari_microstructure.core.curate.active import (
    binary_entropy,
    combine,
    disagreement,
    rank_images,
    uncertainty,
    unflip,
)
from napari_microstructure.core.curate.items import labelled_class_counts
from napari_microstructure.core.curate.yolo import yolo_class_counts
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic import generate


def _df(rows):
    return pd.DataFrame(rows, columns=["x1", "y1", "x2", "y2", "confidence", "class_id"])


def test_disagreement_and_unflip():
    a = _df([[10, 10, 20, 20, 0.9, 0], [50, 50, 60, 70, 0.8, 1]])
    assert disagreement(a, a) == 0.0
    assert disagreement(a, a.iloc[:0]) == 1.0 and disagreement(a.iloc[:0], a.iloc[:0]) == 0.0
    assert disagreement(a, a.iloc[:1]) == pytest.approx(1 - 2 / 3)
    other_class = a.assign(class_id=[1, 0])
    assert disagreement(a, other_class) == 1.0
    # a box found on the left-right flipped image maps back onto the original
    flipped = _df([[100 - 20, 10, 100 - 10, 20, 0.9, 0]])
    back = unflip(flipped, (80, 100), axis=1)
    assert back[["x1", "x2"]].to_numpy().tolist() == [[10, 20]]
    up = unflip(_df([[10, 80 - 20, 20, 80 - 10, 0.9, 0]]), (80, 100), axis=0)
    assert up[["y1", "y2"]].to_numpy().tolist() == [[10, 20]]


def test_uncertain_detections_score_higher():
    sure = [_df([[0, 0, 10, 10, 0.97, 0], [20, 20, 30, 30, 0.95, 1]])] * 3
    unsure_base = _df(
        [[0, 0, 10, 10, 0.3, 0], [20, 20, 30, 30, 0.22, 1], [40, 40, 50, 50, 0.5, 0]]
    )
    unsure = [unsure_base, unsure_base.iloc[:1], unsure_base.iloc[1:]]
    s_sure, s_unsure = uncertainty(sure), uncertainty(unsure)
    assert (
        s_unsure["entropy"] > s_sure["entropy"] and s_unsure["n_near"] == 2
    )  # 0.3 and 0.22; 0.5 is outside the band
    assert s_unsure["tta"] > s_sure["tta"] == 0.0
    assert combine(s_unsure) > combine(s_sure)
    assert binary_entropy(np.array([0.5]))[0] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def detector_path(tmp_path_factory):
    return tiny_detector(tmp_path_factory)


def test_rank_images_with_a_detector(detector_path, tmp_path):
    from napari_microstructure.core.detect import load_detector

    det = load_detector(detector_path)
    images = [generate("defects", (128, 128), 0.5, seed=200 + i, **COUNTS).image for i in range(3)]
    images.append(np.full((128, 128), 180, np.uint8))  # blank
    df = run_to_end(
        rank_images(images, det, pixel_size=0.5, names=list("abcd"), reference=images[:2])
    )
    assert list(df["rank"]) == [1, 2, 3, 4] and set(df["name"]) == set("abcd")
    assert (np.diff(df["priority"]) <= 1e-12).all()  # queue order: uncertainty + novelty
    assert {"entropy", "tta", "low_max", "n_near", "ood", "novelty"} <= set(df.columns)
    by_score = run_to_end(rank_images(images, det, pixel_size=0.5, diversity=0, density=0))
    assert (np.diff(by_score["score"]) <= 0).all() and "priority" not in by_score
    with pytest.raises(ValueError, match="diversity"):
        run_to_end(rank_images(images, det, diversity=-1))
    with pytest.raises(ValueError, match="rarity"):
        run_to_end(rank_images(images, det, rarity=-1))
    with pytest.raises(ValueError, match="density"):
        run_to_end(rank_images(images, det, density=-1))
    with pytest.raises(ValueError, match="lacks: nope"):
        run_to_end(rank_images(images, det, class_counts={"nope": 1}))
    rare = run_to_end(
        rank_images(images, det, pixel_size=0.5, class_counts={"inclusion": 50, "pore": 50})
    )
    assert ((rare["gain"] >= 0) & (rare["gain"] <= 1)).all() and "gain" not in df
    assert (np.diff(rare["priority"]) <= 1e-12).all()
    ood = df.set_index("name")["ood"]
    assert ood["a"] == pytest.approx(0.0, abs=1e-9) and ood["c"] > 0 and ood["d"] > 0
    again = run_to_end(
        rank_images(images, det, pixel_size=0.5, names=list("abcd"), reference=images[:2])
    )
    pd.testing.assert_frame_equal(df, again)


def test_cli_export_rank_train(detector_path, tmp_path, capsys):
    from skimage.io import imsave

    project = synthetic_project(tmp_path / "proj", n=3)
    assert (
        main(
            [
                "export",
                str(project.root),
                "--out",
                str(tmp_path / "ex"),
                "--format",
                "yolo",
                "tiff",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out["files"]) == {"yolo", "tiff"}
    folder = tmp_path / "unlabelled"
    folder.mkdir()
    for i in range(2):
        imsave(folder / f"u{i}.png", generate("defects", (128, 128), 0.5, seed=300 + i).image)
    assert main(["rank", str(folder), "--model", str(detector_path), "--json"]) == 0
    ranking = json.loads(capsys.readouterr().out)["ranking"]
    assert [r["rank"] for r in ranking] == [1, 2]
    assert all(isinstance(r["score"], float) for r in ranking)
    assert not any("digest" in r for r in ranking)  # the dock's matching key, not the JSON's
    args = ["rank", str(folder), "--model", str(detector_path), "--json"]
    assert main([*args, "--weight", "low_max=0"]) == 0  # weight 1 by default
    weighted = {r["path"]: r for r in json.loads(capsys.readouterr().out)["ranking"]}
    assert any(r["low_max"] > 0 for r in ranking)
    for r in ranking:
        assert weighted[r["path"]]["score"] == pytest.approx(r["score"] - r["low_max"])
    assert all(r["density"] > 0 for r in ranking)  # the representativeness weighting is on
    assert main([*args, "--density", "0", "--diversity", "0"]) == 0
    plain = json.loads(capsys.readouterr().out)["ranking"]
    assert "density" not in plain[0] and plain[0]["score"] >= plain[1]["score"]
    assert main(["rank", str(folder), "--weight", "novelty=1"]) == 2  # a usage error
    assert "SIGNAL one of" in capsys.readouterr().err
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n0 0.2 0.2 0.1 0.1\n\n")
    assert main([*args, "--reference-labels", str(labels)]) == 0
    assert all(0 <= r["gain"] <= 1 for r in json.loads(capsys.readouterr().out)["ranking"])
    assert yolo_class_counts(str(labels), {0: "a", 1: "b"}) == {"a": 2, "b": 0}
    counts = labelled_class_counts(project, only_done=False)
    objects = [generate("defects", (128, 128), 0.5, seed=s, **COUNTS).objects for s in range(3)]
    truth = [o["cls"] for objs in objects for o in objs]  # the project's images, as generated
    assert counts == {c: truth.count(c) for c in project.classes}
    assert sum(counts.values()) > 0 and not any(labelled_class_counts(project).values())
    (labels / "b.txt").write_text("99 0.5 0.5 0.1 0.1\n")
    assert main([*args, "--reference-labels", str(labels)]) == 2
    assert main([*args, "--reference-labels", str(tmp_path / "nope")]) == 2
    # bad input: clear messages, exit code 2, no traceback
    assert main(["rank", str(tmp_path / "nope")]) == 2
    assert main(["rank", str(folder), "--model", str(detector_path), "--diversity", "-1"]) == 2
    assert main(["rank", str(folder), "--model", str(detector_path), "--density", "-1"]) == 2
    assert main(["train", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "r")]) == 2
    assert main(["export", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "not a folder" in err and "dataset file not found" in err and "no annotation" in err
    assert "diversity must be >= 0" in err and "density must be >= 0" in err
    assert "class id 99 is not one of the model's" in err and "no YOLO label files" in err


def test_train_from_a_file_that_is_not_an_ultralytics_model(tmp_path, capsys):
    import torch

    data = tmp_path / "data.yaml"
    data.write_text(f"path: {tmp_path}\ntrain: images/train\nval: images/val\nnames: {{0: a}}\n")
    foreign = tmp_path / "unet.pt"  # e.g. a segmentation model from train-seg
    torch.save({"state_dict": {"w": torch.zeros(2)}, "task": "phases"}, foreign)
    rc = main(["train", str(data), "--out", str(tmp_path / "r"), "--from", str(foreign)])
    err = capsys.readouterr().err
    assert rc == 2 and "unet.pt: not an ultralytics detection or segmentation model" in err
    assert "Traceback" not in err
