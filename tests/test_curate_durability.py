"""Nothing an expert saved is lost: concurrent saves and opens, bad input, failed commits."""

from __future__ import annotations

import errno
import os
import threading
import time

import numpy as np
import pytest
import tifffile

from napari_microstructure.core import atomic as atomic_mod
from napari_microstructure.core.curate import Project, ProjectError
from napari_microstructure.core.curate.items import items_from_project


def _project(tmp_path, classes=("a",)):
    p = Project.create(tmp_path / "proj", classes=list(classes))
    iid = p.add_image(np.zeros((32, 32), np.uint8), "img.png")
    inst = np.zeros((32, 32), np.uint32)
    inst[2:6, 2:6] = 1
    p.save_labels(iid, instances=inst)
    return p, iid, inst


def test_load_during_a_save_of_the_same_object(tmp_path, monkeypatch):
    p, iid, inst = _project(tmp_path)
    real, reader = tifffile.imread, threading.current_thread()

    def slow(*args, **kwargs):  # slow storage while the reader reads the old revision
        out = real(*args, **kwargs)
        if threading.current_thread() is reader:
            time.sleep(0.4)
        return out

    monkeypatch.setattr(tifffile, "imread", slow)
    new = inst.copy()
    new[10:14, 10:14] = 2
    saver = threading.Timer(0.1, p.save_labels, args=(iid,), kwargs={"instances": new})
    saver.start()
    labels = p.load_labels(iid)  # FileNotFoundError when the save deletes the files meanwhile
    saver.join()
    np.testing.assert_array_equal(labels.instances, inst)


def test_open_during_a_save_keeps_its_files(tmp_path, monkeypatch):
    p, iid, inst = _project(tmp_path)
    real = atomic_mod.atomic_write_bytes

    def open_meanwhile(path, data):
        if str(path).endswith("objects.r2.json"):  # instances.r2.tif is written already
            Project.open(p.root)
        return real(path, data)

    monkeypatch.setattr(atomic_mod, "atomic_write_bytes", open_meanwhile)
    new = inst.copy()
    new[10:14, 10:14] = 2
    assert p.save_labels(iid, instances=new) == 2
    monkeypatch.setattr(atomic_mod, "atomic_write_bytes", real)
    np.testing.assert_array_equal(Project.open(p.root).load_labels(iid).instances, new)


def test_open_collects_only_old_garbage(tmp_path):
    p, iid, _ = _project(tmp_path)
    folder = p.root / "labels" / iid
    old = [folder / "instances.r7.tif", folder / ".objects.r7.json.abc.tmp"]
    fresh = [folder / "instances.r8.tif", folder / ".objects.r8.json.abc.tmp"]
    mine = folder / "notes.txt"
    for f in [*old, *fresh, mine]:
        f.write_bytes(b"x")
    an_hour_ago = time.time() - 3600
    for f in old:
        os.utime(f, (an_hour_ago, an_hour_ago))
    with atomic_mod.folder_lock(p.root / ".project.lock"):  # a save runs in another process
        Project.open(p.root)
    assert not any(f.exists() for f in old) and all(f.exists() for f in fresh)
    assert mine.exists() and (folder / "instances.r1.tif").exists()
    Project.open(p.root)  # nobody saves now: a crashed save's leftovers go at once
    assert not any(f.exists() for f in fresh) and mine.exists()


def test_two_objects_do_not_overwrite_each_other(tmp_path):
    a, iid, inst = _project(tmp_path)
    b = Project.open(a.root)
    new = inst.copy()
    new[10:14, 10:14] = 2
    assert a.save_labels(iid, instances=new) == 2
    with pytest.raises(ProjectError, match="changed by another window or program; reopen"):
        b.set_done(iid)
    assert not b.image_record(iid)["done"]  # the refused change is not pretended saved
    q = Project.open(a.root)
    assert q.image_record(iid)["rev"] == 2 and not q.image_record(iid)["done"]
    np.testing.assert_array_equal(q.load_labels(iid).instances, new)
    a.set_done(iid)  # the object that wrote last goes on saving
    assert Project.open(a.root).image_record(iid)["done"]


@pytest.mark.parametrize("bad", [2**32, 2**32 + 5, -1, 0.5])
def test_label_ids_beyond_uint32_are_refused(tmp_path, bad):
    p, iid, inst = _project(tmp_path)
    files = sorted(os.listdir(p.root / "labels" / iid))
    big = inst.astype(np.float64 if bad == 0.5 else np.int64)
    big[20:24, 20:24] = bad
    with pytest.raises(ValueError, match=r"label ids must be whole numbers 0\.\.4294967295"):
        p.save_labels(iid, instances=big)
    assert sorted(os.listdir(p.root / "labels" / iid)) == files
    assert Project.open(p.root).image_record(iid)["rev"] == 1
    ok = inst.astype(np.int64)
    ok[20:24, 20:24] = 2**32 - 1
    p.save_labels(iid, instances=ok)
    assert Project.open(p.root).load_labels(iid).instances.max() == 2**32 - 1


@pytest.mark.parametrize("bad", [256, -1])
def test_phase_ids_beyond_uint8_are_refused(tmp_path, bad):
    p, iid, inst = _project(tmp_path)
    phases = np.zeros(inst.shape, np.int64)
    phases[20:24, 20:24] = bad
    with pytest.raises(ValueError, match=r"phase ids must be whole numbers 0\.\.255"):
        p.save_labels(iid, phases=phases)
    assert Project.open(p.root).load_labels(iid).phases is None
    phases[20:24, 20:24] = 255
    p.save_labels(iid, phases=phases)
    assert Project.open(p.root).load_labels(iid).phases.max() == 255


def test_export_reads_what_another_window_saved_meanwhile(tmp_path):
    a, iid, inst = _project(tmp_path)
    cli = Project.open(a.root)  # e.g. `napari-microstructure export` in a terminal
    new = inst.copy()
    new[10:14, 10:14] = 2
    a.save_labels(iid, instances=new)  # the dock's autosave: the files cli knows are gone
    (item,) = items_from_project(cli)
    np.testing.assert_array_equal(item.instances, new)
    assert cli.image_record(iid)["rev"] == 1  # the object itself is not changed


def test_set_classes_never_relabels_objects(tmp_path):
    p = Project.create(tmp_path / "proj", classes=["pore", "inclusion", "crack"])
    iid = p.add_image(np.zeros((32, 32), np.uint8), "img.png")
    inst = np.zeros((32, 32), np.uint32)
    inst[0:5, 0:5], inst[10:15, 10:15] = 1, 2
    p.save_labels(iid, instances=inst, classes={1: 0, 2: 1})
    with pytest.raises(ValueError, match="'inclusion' \\(id 1\\).*1 object"):
        p.set_classes(["pore", "crack"])
    with pytest.raises(ValueError, match="at least one class"):
        p.set_classes([])
    assert Project.open(p.root).classes == ["pore", "inclusion", "crack"]
    p.set_classes(["pore", "oxide", "crack", "void"])  # rename in place, add at the end
    p.set_classes(["pore", "oxide"])  # 'crack' and 'void' are unused
    assert Project.open(p.root).classes == ["pore", "oxide"]


def test_failed_commit_leaves_the_object_as_on_disk(tmp_path, monkeypatch):
    p, iid, inst = _project(tmp_path)
    real = atomic_mod.atomic_write_bytes

    def full_disk(path, data):
        if str(path).endswith("project.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(atomic_mod, "atomic_write_bytes", full_disk)
    new = inst.copy()
    new[10:14, 10:14] = 2
    with pytest.raises(OSError):
        p.save_labels(iid, instances=new)
    with pytest.raises(OSError):
        p.set_done(iid)
    monkeypatch.setattr(atomic_mod, "atomic_write_bytes", real)
    assert p.image_record(iid)["rev"] == 1 and not p.image_record(iid)["done"]
    assert sorted(p.load_labels(iid).objects) == ["1"]
    assert p.save_labels(iid, instances=new) == 2  # and the next save works


def test_classes_alone_reclass_stored_objects(tmp_path):
    p = Project.create(tmp_path / "proj", classes=["pore", "inclusion"])
    iid = p.add_image(np.zeros((16, 16), np.uint8), "img.png")
    inst = np.zeros((16, 16), np.uint32)
    inst[2:6, 2:6] = 1
    p.save_labels(iid, instances=inst, source="model:v1")
    assert p.save_labels(iid, classes={1: 1}) == 2
    obj = Project.open(p.root).load_labels(iid).objects["1"]
    assert obj["class_id"] == 1 and obj["status"] == "corrected"
    with pytest.raises(ValueError, match=r"cannot re-class objects \[7\]"):
        p.save_labels(iid, classes={7: 1})


@pytest.mark.parametrize(
    "content",
    [
        '{"format": 2, "images": []}',
        '{"format": "2.0"}',
        '{"format": null}',
        "null",
        '{"name": "my-js-app", "version": "1.0"}',
        '{"format": 1, "classes": ["a"]}',
        '{"format": 1, "images": [1], "classes": ["a"]}',
    ],
)
def test_foreign_manifests_give_project_errors(tmp_path, content):
    (tmp_path / "project.json").write_text(content)
    with pytest.raises(ProjectError):
        Project.open(tmp_path)


def test_minimal_manifest_opens(tmp_path):
    (tmp_path / "project.json").write_text('{"format": 1, "images": [], "classes": ["a"]}')
    p = Project.open(tmp_path)
    assert p.classes == ["a"] and p.models == [] and p.active_model is None


def test_active_and_rejected_models_are_protected(tmp_path):
    p = Project.create(tmp_path / "proj")
    w = tmp_path / "w.pt"
    w.write_bytes(b"weights")
    v1 = p.add_model(w, "detect")
    p.accept_model(v1)
    with pytest.raises(ValueError, match="active detect model"):
        p.reject_model(v1)
    assert p.model_path(v1).exists() and p.active_for("detect")["status"] == "accepted"
    v2 = p.add_model(w, "detect")
    p.reject_model(v2)
    with pytest.raises(ValueError, match="rejected"):
        p.accept_model(v2)
    assert Project.open(p.root).active_for("detect")["version"] == v1


def test_a_box_drawn_by_hand_has_no_confidence(tmp_path):
    """A hand-drawn box in a detections layer has confidence NaN; JSON has no NaN."""
    p, iid, _ = _project(tmp_path)
    boxes = [
        {"x1": 1, "y1": 2, "x2": 9, "y2": 8, "class_id": 0, "confidence": 0.7},
        {"x1": 12, "y1": 12, "x2": 20, "y2": 18, "class_id": 0, "confidence": float("nan")},
    ]
    p.save_labels(iid, boxes=boxes)
    saved = Project.open(p.root).load_labels(iid).boxes
    assert len(saved) == 2
    assert saved[0]["confidence"] == pytest.approx(0.7) and "confidence" not in saved[1]


def test_atomic_writes_get_the_mode_of_a_plain_write(tmp_path):
    if os.name != "posix":
        pytest.skip("file modes are POSIX")
    new = atomic_mod.atomic_write_text(tmp_path / "table.csv", "a,b\n")
    assert new.stat().st_mode & 0o777 == atomic_mod.NEW_FILE_MODE  # not mkstemp's 0600
    (tmp_path / "table.csv").chmod(0o640)
    atomic_mod.atomic_write_text(tmp_path / "table.csv", "a,b\n1,2\n")
    assert (tmp_path / "table.csv").stat().st_mode & 0o777 == 0o640  # a rewrite keeps it


def test_a_refused_save_leaves_the_other_windows_files_alone(tmp_path):
    a, iid, inst = _project(tmp_path)
    b = Project.open(a.root)
    mine = inst.copy()
    mine[10:14, 10:14] = 9
    a.save_labels(iid, instances=mine)  # the other window commits revision 2
    theirs = inst.copy()
    theirs[30:34, 30:34] = 5
    with pytest.raises(ProjectError, match="changed by another window"):
        b.save_labels(iid, instances=theirs)  # would write the same revision file names
    with pytest.raises(ProjectError, match="changed by another window"):
        b.add_image(np.zeros((8, 8), np.uint8), "other.png")
    np.testing.assert_array_equal(Project.open(a.root).load_labels(iid).instances, mine)
    assert not (a.root / "images" / "other.tif").exists()


def test_a_missing_label_file_is_reported_as_missing(tmp_path, capsys):
    from napari_microstructure.cli import main

    p, iid, _ = _project(tmp_path)
    files = p.image_record(iid)["files"]
    (p.root / "labels" / iid / files["instances"]).unlink()  # e.g. a partial copy
    with pytest.raises(FileNotFoundError, match=files["instances"]):
        list(items_from_project(p))
    assert main(["export", str(p.root), "--out", str(tmp_path / "x")]) == 2
    assert files["instances"] in capsys.readouterr().err


def test_an_undone_erase_brings_the_objects_record_back(tmp_path):
    p, iid, inst = _project(tmp_path, classes=("a", "b", "c", "d"))
    model = inst.copy()
    model[20:24, 20:24] = 3
    p.save_labels(iid, instances=model, source="model:v001-detect", classes={3: 3})
    erased = model.copy()
    erased[erased == 3] = 0
    p.save_labels(iid, instances=erased)  # the annotator erases it (saved) ...
    assert "3" not in p.load_labels(iid).objects
    p.save_labels(iid, instances=model)  # ... and undoes the erase (saved again)
    back = Project.open(p.root).load_labels(iid).objects["3"]
    assert back["class_id"] == 3 and back["source"] == "model:v001-detect"
    assert "3" not in p.load_labels(iid).dropped
