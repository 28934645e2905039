"""Train review 28: `train --from` a yaml that is no detection/segmentation model, --imgsz and
--batch out of range, an --out holding an earlier run (--overwrite, stale sidecars), datasets
wider than 8 bits, `train-seg` crops too large for the memory or the images, the missing pixel
size warning, and absolute data/base paths in the sidecar and the project."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import napari_microstructure  # noqa: F401  (offline ultralytics first)
from napari_microstructure.cli import main
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate import train as train_mod
from napari_microstructure.core.progress import run_to_end


def _dataset(root: Path, dtype=np.uint8, suffix: str = ".png", pixel_size: bool = True) -> str:
    """A YOLO detection set of two 64 px images (one per split) and its data.yaml."""
    import tifffile
    from PIL import Image

    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        image = np.full((64, 64), 3000 if dtype == np.uint16 else 60, dtype)
        path = root / "images" / split / f"{split}{suffix}"
        if suffix == ".png":
            Image.fromarray(image).save(path)
        else:
            tifffile.imwrite(path, image)
        (root / "labels" / split / f"{split}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    extra = "pixel_size_um: 0.5\n" if pixel_size else ""
    text = f"path: {root}\ntrain: images/train\nval: images/val\nnames: {{0: pore}}\n{extra}"
    (root / "data.yaml").write_text(text)
    return str(root / "data.yaml")


class _Cancelling:
    """Stands for a YOLO model: starts training as ultralytics does (its set-up callbacks),
    then stops as Cancel does."""

    def __init__(self) -> None:
        self.callbacks: dict[str, list] = {}

    def add_callback(self, event, fn) -> None:
        self.callbacks.setdefault(event, []).append(fn)

    def train(self, **args) -> None:
        for fn in self.callbacks.get("on_pretrain_routine_end", []):
            fn(None)
        raise train_mod.TrainingCancelled


# -- 1. --from a yaml that is not a detection / segmentation model ----------------------------
def test_from_a_data_yaml_or_a_classification_yaml_is_one_line(tmp_path, capsys):
    import ultralytics

    data = _dataset(tmp_path / "set")
    with pytest.raises(ValueError, match="data.yaml: not an ultralytics detection"):
        train_mod._build_model("detect", data, None)
    cls = tmp_path / "yolov8-cls.yaml"
    shutil.copy(Path(ultralytics.__file__).parent / "cfg/models/v8/yolov8-cls.yaml", cls)
    with pytest.raises(ValueError, match="ends in Classify, not a Detect head"):
        train_mod._build_model("detect", cls, None)
    rc = main(["train", data, "--out", str(tmp_path / "r"), "--from", data, "--imgsz", "64"])
    err = capsys.readouterr().err
    assert rc == 2 and "not an ultralytics detection or segmentation model" in err, err
    assert "Traceback" not in err


def test_a_detect_yaml_is_no_start_for_a_segmenter(tmp_path):
    import ultralytics

    det = tmp_path / "yolov8.yaml"
    shutil.copy(Path(ultralytics.__file__).parent / "cfg/models/v8/yolov8.yaml", det)
    with pytest.raises(ValueError, match="not a Segment head"):
        train_mod._build_model("segment", det, None)
    assert train_mod._build_model("detect", det, None).task == "detect"


# -- 2. --imgsz and --batch --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [("--imgsz", "0", "--imgsz"), ("--imgsz", "-32", "--imgsz"), ("--imgsz", "9000", "8192")]
    + [("--batch", "0", "--batch")],
)
def test_imgsz_and_batch_out_of_range_are_refused(
    tmp_path, capsys, monkeypatch, flag, value, said
):
    monkeypatch.setattr(train_mod, "_build_model", lambda *a: _Cancelling())  # no training
    data = _dataset(tmp_path / "set")
    rc = main(["train", data, "--out", str(tmp_path / "r"), flag, value])
    err = capsys.readouterr().err
    assert rc == 2 and said in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()  # before any training
    with pytest.raises(ValueError, match=said):  # the dock's Retrain gets them too
        kwargs = {"imgsz" if flag == "--imgsz" else "batch": int(value)}
        train_mod.TrainJob(data, tmp_path / "r", **kwargs)


# -- 3. an --out holding an earlier run ---------------------------------------------------------
def test_an_earlier_run_is_refused_without_overwrite(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train_mod, "_build_model", lambda *a: _Cancelling())
    data = _dataset(tmp_path / "set")
    out = tmp_path / "r"
    (out / "data").mkdir(parents=True)  # the dock exports into the run folder first: fine
    train_mod.TrainJob(data, out)
    (out / "train" / "weights").mkdir(parents=True)
    (out / "train" / "weights" / "best.pt").write_bytes(b"old")
    with pytest.raises(ValueError, match="holds an earlier run.*--overwrite"):
        train_mod.TrainJob(data, out)
    rc = main(["train", data, "--out", str(out), "--imgsz", "64"])
    assert rc == 2 and "--overwrite" in capsys.readouterr().err
    assert (out / "train" / "weights" / "best.pt").read_bytes() == b"old"
    assert main(["train", "--help"]) == 0
    assert "--overwrite" in capsys.readouterr().out


def test_overwrite_deletes_the_stale_sidecars_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(train_mod, "_build_model", lambda *a: _Cancelling())
    data = _dataset(tmp_path / "set")
    weights = tmp_path / "r" / "train" / "weights"
    weights.mkdir(parents=True)
    (weights / "best.pt").write_bytes(b"old")
    (weights / "best.json").write_text(json.dumps({"imgsz": 1024, "pixel_size_um": 2.0}))
    (weights.parent / "results.csv").write_text("epoch\n1\n")
    job = train_mod.TrainJob(data, tmp_path / "r", overwrite=True)
    assert run_to_end(job.run()).cancelled  # stopped before new weights: no sidecar left
    assert not (weights / "best.json").exists() and not (weights.parent / "results.csv").exists()


def test_a_refused_overwrite_keeps_the_earlier_runs_sidecar(tmp_path):
    import ultralytics

    data = _dataset(tmp_path / "set")
    weights = tmp_path / "r" / "train" / "weights"
    weights.mkdir(parents=True)
    (weights / "best.pt").write_bytes(b"old")
    (weights / "best.json").write_text(json.dumps({"imgsz": 64, "pixel_size_um": 0.5}))
    cls = tmp_path / "yolov8-cls.yaml"
    shutil.copy(Path(ultralytics.__file__).parent / "cfg/models/v8/yolov8-cls.yaml", cls)
    job = train_mod.TrainJob(data, tmp_path / "r", overwrite=True, base=cls)
    with pytest.raises(ValueError, match="Classify"):
        run_to_end(job.run())
    assert json.loads((weights / "best.json").read_text())["pixel_size_um"] == 0.5


# -- 4. images wider than 8 bits ---------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_16_bit_dataset_is_refused_before_training(tmp_path, capsys, monkeypatch, suffix):
    monkeypatch.setattr(train_mod, "_build_model", lambda *a: _Cancelling())
    data = _dataset(tmp_path / "set", np.uint16, suffix)
    rc = main(["train", data, "--out", str(tmp_path / "r"), "--imgsz", "64"])
    err = capsys.readouterr().err
    assert rc == 2 and "napari-microstructure export" in err and "8 bits" in err, err
    assert not (tmp_path / "r").exists()
    # an 8-bit set is not refused (it reaches the training, cancelled here)
    data = _dataset(tmp_path / "set8", np.uint8, suffix)
    main(["train", data, "--out", str(tmp_path / "r8"), "--imgsz", "64"])
    assert "8 bits" not in capsys.readouterr().err


# -- 5. train-seg crops -----------------------------------------------------------------------
def _pairs(n: int = 2, size: int = 48):
    from napari_microstructure.core.segment.data import make_pair

    rng = np.random.default_rng(0)
    pairs = []
    for i in range(n):
        image = rng.random((size, size)).astype(np.float32)
        pairs.append(make_pair(image, (image > 0.5).astype(np.uint8), "phases", 1, f"p{i}"))
    return pairs


def test_train_seg_refuses_crops_too_large_for_the_memory(monkeypatch):
    from napari_microstructure.core.segment import TrainConfig, train_model
    from napari_microstructure.core.segment import train as seg_train

    # 2 crops of 256 px at base 4: about 52 MB a step on the CPU, over a 20 MB budget
    monkeypatch.setattr(seg_train, "memory_budget", lambda: 20_000_000)
    cfg = TrainConfig(epochs=1, steps_per_epoch=1, batch_size=2, crop=256, base=4, depth=2)
    with pytest.raises(ValueError, match="2 crops of 256 px.*smaller crop or batch"):
        run_to_end(train_model(_pairs(), cfg))


def test_train_seg_warns_of_a_crop_larger_than_every_image(caplog):
    from napari_microstructure.core.segment import TrainConfig, train_model

    cfg = TrainConfig(epochs=1, steps_per_epoch=1, batch_size=1, crop=64, base=4, depth=2)
    with caplog.at_level(logging.WARNING):
        run_to_end(train_model(_pairs(size=48), cfg))
    assert "crop of 64 px larger than every training image: use 48 or less" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        run_to_end(train_model(_pairs(size=48), replace(cfg, crop=48)))
    assert "larger than every" not in caplog.text


# -- 6. no pixel size --------------------------------------------------------------------------
def test_train_warns_when_no_pixel_size_is_known(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(train_mod, "_build_model", lambda *a: _Cancelling())
    data = _dataset(tmp_path / "set", pixel_size=False)
    with caplog.at_level(logging.WARNING):
        main(["train", data, "--out", str(tmp_path / "r"), "--imgsz", "64"])
    assert "no pixel size: pass --pixel-size" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        main(["train", data, "--out", str(tmp_path / "r2"), "--pixel-size", "0.5"])
    assert "no pixel size" not in caplog.text


# -- 7. absolute paths -------------------------------------------------------------------------
def test_sidecar_and_project_record_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _dataset(tmp_path / "set")
    (tmp_path / "start.pt").write_bytes(b"x")
    job = train_mod.TrainJob("set/data.yaml", "r", base="start.pt")
    weights = tmp_path / "r" / "best.pt"
    weights.parent.mkdir()
    weights.write_bytes(b"w")
    job._write_info(weights, {}, {0: "pore"})
    info = json.loads(weights.with_suffix(".json").read_text())
    assert info["data"] == str((tmp_path / "set" / "data.yaml").resolve())
    assert info["base"] == str((tmp_path / "start.pt").resolve())
    project = Project.create(tmp_path / "proj", classes=["pore"])
    result = SimpleNamespace(weights=weights, task="detect", data="set/data.yaml", history=[])
    version = project.add_trained(result, {}, None)
    record = next(m for m in Project.open(tmp_path / "proj").models if m["version"] == version)
    assert record["data"] == str((tmp_path / "set" / "data.yaml").resolve())
