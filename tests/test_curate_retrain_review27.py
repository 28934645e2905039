"""Review 27 of retraining: a micrograph added twice never straddles the split, `train
--project` takes only a dataset of images marked done, and a moved project's detector follows."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile

import napari_microstructure  # noqa: F401  (offline ultralytics first)
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.export import export_project
from napari_microstructure.core.curate.yolo import held_out, split_names
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic import generate

BOX = {"x1": 5, "y1": 5, "x2": 25, "y2": 15, "class_id": 0}


def _image(seed: int) -> np.ndarray:
    return generate("defects", shape=(96, 96), pixel_size=0.5, seed=seed).image


def _add(project: Project, name: str, seed: int, done: bool = True, box: dict = BOX) -> str:
    image_id = project.add_image(_image(seed), name, pixel_size=0.5)
    project.save_labels(image_id, boxes=[box], source="test" if done else "demo")
    if done:
        project.set_done(image_id)
    return image_id


def _sides(out: Path) -> tuple[list[str], list[str]]:
    folder = out / "yolo" / "images"
    train, val = (sorted(p.stem for p in (folder / s).glob("*.png")) for s in ("train", "val"))
    return train, val


# -- 1a: the split keeps copies together ---------------------------------------------------------
def test_a_copy_lands_on_the_side_of_its_original(tmp_path):
    project = Project.create(tmp_path / "p", classes=["inclusion"])
    for s in range(4):
        _add(project, f"steel_{s}.tif", s)
    copy = _add(project, "steel_0.tif", 0)  # the same micrograph added a second time
    assert copy == "steel_0_2"
    run_to_end(export_project(project, tmp_path / "out", ["yolo"], only_done=True))
    train, val = _sides(tmp_path / "out")
    assert ("steel_0" in train) == (copy in train) and ("steel_0" in val) == (copy in val)
    digest = {i: project.image_digest(i) for i in project.image_ids}
    assert not {digest[n] for n in val} & {digest[n] for n in train}  # nothing trained on
    assert held_out(tmp_path / "out" / "yolo")[0] == len(val) >= 1


def test_the_split_of_a_project_without_copies_is_unchanged(tmp_path):
    project = Project.create(tmp_path / "p", classes=["inclusion"])
    ids = [_add(project, f"img{s}.png", s) for s in range(12)]
    run_to_end(export_project(project, tmp_path / "out", ["yolo"], only_done=True))
    assert _sides(tmp_path / "out") == split_names(ids)  # drawn from the names, as before
    names = [f"n{k}" for k in range(40)]
    assert split_names(names, 0.3, 5, {}) == split_names(names, 0.3, 5)


def test_copies_given_directly_to_the_exporter_stay_together(tmp_path):
    from napari_microstructure.core.curate.export import ExportItem, export_yolo_detect

    items = [ExportItem(f"a{k}", _image(k), boxes=[BOX], done=True) for k in range(6)]
    items += [ExportItem(f"z{k}", _image(k), boxes=[BOX], done=True) for k in range(6)]
    export_yolo_detect(tmp_path / "yolo", items)
    train, val = _sides(tmp_path)
    assert val and {n[1:] for n in train}.isdisjoint({n[1:] for n in val})


# -- 1b: Add image does not add the same pixels twice -------------------------------------------
def test_add_image_of_pixels_already_in_the_project_opens_that_image(
    curate_dock, curate_told, tmp_path
):
    w = curate_dock(tmp_path / "proj")
    tif = tmp_path / "steel_0.tif"
    tifffile.imwrite(tif, _image(0))
    first = w.add_image(w._viewer.open(str(tif))[0])
    w.project.save_labels(first, boxes=[BOX])  # annotated since
    again = w._viewer.open(str(tif))[0]  # napari names it "steel_0 [1]"
    before = np.array(again.data)
    assert w.add_image(again) is None
    assert w.project.image_ids == [first]
    assert any(first in m and "already in the project" in m for m in curate_told), curate_told
    assert w.current_image_id == first and w.layers_of(first)
    assert again in w._viewer.layers and np.array_equal(again.data, before)  # left as it was
    assert len(w.project.load_labels(first).boxes) == 1
    other = w._viewer.add_image(_image(1), name="steel_1")
    assert w.add_image(other) == "steel_1"  # other pixels are added as usual


# -- 2: train --project takes only a dataset of images marked done --------------------------------
def _cli_project(root: Path) -> Project:
    project = Project.create(root, classes=["inclusion", "pore"])
    for s in range(3):
        _add(project, f"img{s}.png", s)
    proposal = {"x1": 40, "y1": 40, "x2": 90, "y2": 90, "class_id": 1, "confidence": 0.27}
    _add(project, "img3.png", 3, done=False, box=proposal)  # Open next's, never checked
    return project


class _Trained(Exception):
    pass


def test_train_project_refuses_a_dataset_exported_without_only_done(tmp_path, monkeypatch, capsys):
    from napari_microstructure import cli
    from napari_microstructure.core.curate import train

    def no_training(*args, **kwargs):
        raise _Trained  # reached only past the checks

    monkeypatch.setattr(train, "TrainJob", no_training)
    _cli_project(tmp_path / "p")
    out = tmp_path / "exported"
    assert cli.main(["export", str(tmp_path / "p"), "--out", str(out), "--format", "yolo"]) == 0
    data = str(out / "yolo" / "data.yaml")
    args = ["train", data, "--epochs", "1", "--out", str(tmp_path / "run")]
    assert cli.main([*args, "--project", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "--only-done" in err and "not marked done" in err
    assert not (tmp_path / "run").exists()
    with pytest.raises(_Trained):  # without --project: the user's dataset, as it is
        cli.main(args)
    exported = ["export", str(tmp_path / "p"), "--out", str(out), "--only-done"]
    assert cli.main(exported) == 0
    with pytest.raises(_Trained):
        cli.main([*args, "--project", str(tmp_path / "p")])


def test_train_project_takes_a_whole_export_whose_images_are_all_done(tmp_path, monkeypatch):
    """The dock's Export button exports every labelled image: all done, nothing unchecked."""
    from napari_microstructure import cli
    from napari_microstructure.core.curate import train

    def no_training(*args, **kwargs):
        raise _Trained

    monkeypatch.setattr(train, "TrainJob", no_training)
    project = Project.create(tmp_path / "p", classes=["inclusion", "pore"])
    for s in range(3):
        _add(project, f"img{s}.png", s)
    out = tmp_path / "exported"
    run_to_end(export_project(project, out, ["yolo"]))  # as the dock's Export
    data, run = str(out / "yolo" / "data.yaml"), str(tmp_path / "run")
    with pytest.raises(_Trained):  # reached the training: not refused
        cli.main(["train", data, "--epochs", "1", "--out", run, "--project", str(project.root)])


def test_docs_export_for_train_project_with_only_done():
    docs = (Path(__file__).parents[1] / "docs" / "curate.md").read_text("utf-8")
    blocks = [b for b in docs.split("```") if "train exported/yolo/data.yaml" in b]
    assert blocks and all("export my_project" in b and "--only-done" in b for b in blocks)
    assert "--only-done" in docs.split("## The active-learning queue")[0].split("## Export")[1]


# -- 3: a moved project's active model ------------------------------------------------------------
def test_detect_follows_the_active_model_of_a_moved_project(curate_dock, curate_told, tmp_path):
    from napari_microstructure.core.settings import get_setting
    from napari_microstructure.widgets.detect import SETTING, DetectWidget

    weights = tmp_path / "w.pt"
    weights.write_bytes(b"not really a model")
    w = curate_dock(tmp_path / "proj")
    version = w.project.add_model(weights, "detect")
    w.train_panel.refresh()
    w.train_panel.accept()  # as after a Retrain: Detect's remembered model
    old = Path(get_setting(SETTING)["model"])
    assert old == tmp_path / "proj" / "models" / version / "weights.pt"
    w.close()
    shutil.move(tmp_path / "proj", tmp_path / "moved")
    curate_told.clear()
    w2 = curate_dock(tmp_path / "moved")
    assert w2.train_panel.metrics_text == f"active model: {version}"
    now = Path(get_setting(SETTING)["model"])
    assert now == tmp_path / "moved" / "models" / version / "weights.pt" and now.is_file()
    assert any("moved" in m and version in m for m in curate_told), curate_told
    assert DetectWidget(w2._viewer).model_path == now


def test_a_model_missing_elsewhere_is_left_alone(curate_dock, tmp_path):
    from napari_microstructure.core.settings import get_setting, set_setting
    from napari_microstructure.widgets.detect import SETTING

    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    project = Project.create(tmp_path / "proj", classes=["inclusion"])
    project.register_model(weights, "detect")
    gone = str(tmp_path / "mine" / "best.pt")
    set_setting(SETTING, {"model": gone})
    curate_dock(tmp_path / "proj")
    assert get_setting(SETTING)["model"] == gone


def test_parent_is_the_version_when_fine_tuned_from_one(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    project = Project.create(tmp_path / "proj", classes=["inclusion"])
    first = project.register_model(weights, "detect")
    result = SimpleNamespace(weights=weights, task="detect", data="d.yaml", history=[])
    child = project.add_trained(result, {}, project.start_model("detect"))
    other = project.add_trained(result, {}, weights)
    parents = {m["version"]: m["parent"] for m in project.models}
    assert parents[child] == first and parents[other] == str(weights)
    assert project.version_of(Path("nowhere.pt")) is None
