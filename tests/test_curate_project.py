"""Annotation project: exact reopen, provenance, atomic saves under failure and SIGKILL."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from napari_microstructure.core import atomic as atomic_mod
from napari_microstructure.core.curate import Project, ProjectError


def _project(tmp_path, shape=(64, 80)):
    p = Project.create(tmp_path / "proj", classes=["pore", "inclusion"], phase_names=["a", "b"])
    img = np.arange(np.prod(shape), dtype=np.uint16).reshape(shape)
    iid = p.add_image(img, "sample A.tif", pixel_size=0.25)
    return p, iid, img


def test_reopen_restores_exactly(tmp_path):
    p, iid, img = _project(tmp_path)
    inst = np.zeros(img.shape, np.uint32)
    inst[5:10, 5:10] = 1
    inst[20:30, 40:60] = 70_000  # ids beyond 16 bit survive
    phases = (np.arange(img.size).reshape(img.shape) % 3).astype(np.uint8)
    boxes = [{"x1": 1.5, "y1": 2.0, "x2": 10.25, "y2": 12.0, "class_id": 1, "confidence": 0.4}]
    p.save_labels(
        iid, instances=inst, phases=phases, boxes=boxes, source="detect:v1", classes={70_000: 1}
    )
    q = Project.open(p.root)
    lab = q.load_labels(iid)
    assert lab.instances.dtype == np.uint32 and lab.phases.dtype == np.uint8
    np.testing.assert_array_equal(lab.instances, inst)
    np.testing.assert_array_equal(lab.phases, phases)
    np.testing.assert_array_equal(q.read_image(iid), img)
    assert lab.boxes[0]["x1"] == 1.5 and lab.boxes[0]["source"] == "detect:v1"
    assert lab.instance_classes() == {1: 0, 70_000: 1}
    assert q.image_record(iid)["pixel_size"] == 0.25
    assert q.classes == ["pore", "inclusion"] and q.phase_names == ["a", "b"]


def test_provenance_of_corrections(tmp_path):
    p, iid, img = _project(tmp_path)
    inst = np.zeros(img.shape, np.uint32)
    inst[5:10, 5:10] = 1
    inst[30:40, 30:40] = 2
    p.save_labels(iid, instances=inst, source="sam:vit_b")
    edited = inst.copy()
    edited[5:7, 5:10] = 0  # correct object 1
    edited[50:55, 60:70] = 3  # draw a new one
    p.save_labels(iid, instances=edited)
    boxes = p.load_labels(iid)
    obj = boxes.objects
    assert obj["1"]["status"] == "corrected" and obj["1"]["source"] == "sam:vit_b"
    assert obj["2"]["status"] == "accepted" and obj["2"]["source"] == "sam:vit_b"
    assert obj["3"]["source"] == "manual"
    # boxes: a moved box is the same box corrected; a far one is new
    p.save_labels(
        iid, boxes=[{"x1": 0, "y1": 0, "x2": 10, "y2": 10, "class_id": 0}], source="detect:v1"
    )
    p.save_labels(
        iid,
        boxes=[
            {"x1": 1, "y1": 0, "x2": 10, "y2": 10, "class_id": 0},
            {"x1": 40, "y1": 40, "x2": 50, "y2": 50, "class_id": 1},
        ],
    )
    b = p.load_labels(iid).boxes
    assert b[0]["source"] == "detect:v1" and b[0]["status"] == "corrected"
    assert b[1]["source"] == "manual"


def test_full_disk_keeps_the_last_good_save(tmp_path, monkeypatch):
    p, iid, img = _project(tmp_path)
    good = np.ones(img.shape, np.uint32)
    p.save_labels(iid, instances=good)
    real = atomic_mod.os.fsync
    calls = {"n": 0}

    def failing_fsync(fd):
        calls["n"] += 1
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_mod.os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        p.save_labels(iid, instances=good * 2)
    monkeypatch.setattr(atomic_mod.os, "fsync", real)
    assert calls["n"] >= 1
    q = Project.open(p.root)
    np.testing.assert_array_equal(q.load_labels(iid).instances, good)
    leftovers = [f for f in p.root.rglob("*") if f.name.endswith(".tmp")]
    assert leftovers == []


def test_bad_folders_give_clear_errors(tmp_path):
    with pytest.raises(ProjectError, match="no annotation project"):
        Project.open(tmp_path)
    (tmp_path / "project.json").write_text("{not json")
    with pytest.raises(ProjectError, match="cannot read"):
        Project.open(tmp_path)
    p, iid, img = _project(tmp_path / "x")
    with pytest.raises(ValueError, match="shape"):
        p.save_labels(iid, instances=np.zeros((3, 3), np.uint32))


_EDITOR = textwrap.dedent(
    """
    import sys, numpy as np
    from napari_microstructure.core.curate import Project
    root, every = sys.argv[1], int(sys.argv[2])
    p = Project.create(root, classes=["obj"])
    iid = p.add_image(np.zeros((512, 512), np.uint8), "img")
    lab = np.zeros((512, 512), np.uint32)
    rng = np.random.default_rng(0)
    k = 0
    while True:  # a stream of edits, autosaved every `every` edits, until killed
        k += 1
        r, c = rng.integers(0, 480, 2)
        lab[r:r + 32, c:c + 32] = k
        if k % every == 0:
            rev = p.save_labels(iid, instances=lab)
            print(f"saved {k} {rev}", flush=True)
    """
)


def _expected(n_edits: int) -> np.ndarray:
    lab = np.zeros((512, 512), np.uint32)
    rng = np.random.default_rng(0)
    for k in range(1, n_edits + 1):
        r, c = rng.integers(0, 480, 2)
        lab[r : r + 32, c : c + 32] = k
    return lab


@pytest.mark.parametrize("n_saves", [3, 8, 15])
def test_sigkill_during_edits_and_autosaves(tmp_path, n_saves):
    root = tmp_path / "proj"
    every = 4
    proc = subprocess.Popen(
        [sys.executable, "-c", _EDITOR, str(root), str(every)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    last = 0
    try:
        while last < n_saves * every:
            line = proc.stdout.readline()
            assert line, "the editor process died before being killed"
            last = int(line.split()[1])
        time.sleep(0.003 * n_saves)  # land the kill at different points of the next save
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # saves reported after our last read also count: drain what the pipe still holds
        for line in proc.stdout.read().splitlines():
            last = max(last, int(line.split()[1]))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    json.loads((root / "project.json").read_text())  # the manifest is valid JSON
    project = Project.open(root)
    iid = project.image_ids[0]
    rev = project.image_record(iid)["rev"]
    saved = project.load_labels(iid).instances
    assert rev * every >= last  # every save reported before the kill is there
    # and the labels are exactly the state at that save (no torn or mixed file)
    np.testing.assert_array_equal(saved, _expected(rev * every))
    assert set(saved.ravel().tolist()) - {0} <= set(range(1, rev * every + 1))
    assert not [f for f in root.rglob("*.tmp")]


def test_model_versions_active_per_task(tmp_path):
    p, _iid, _img = _project(tmp_path)
    w = tmp_path / "w.pt"
    w.write_bytes(b"weights")
    (tmp_path / "w.json").write_text('{"pixel_size_um": 0.5}')
    det = p.add_model(w, "detect", {"map50": 0.4})
    seg = p.add_model(w, "segment", {"map50_mask": 0.3})
    assert p.active_for("detect") is None and p.models[0]["status"] == "candidate"
    p.accept_model(det)
    p.accept_model(seg)
    q = Project.open(p.root)
    assert q.active_for("detect")["version"] == det and q.active_for("segment")["version"] == seg
    assert q.active_model["version"] == seg
    assert (q.model_path(det).with_suffix(".json")).read_text() == '{"pixel_size_um": 0.5}'
    third = q.add_model(w, "detect")
    q.reject_model(third)
    assert not q.model_path(third).exists() and q.active_for("detect")["version"] == det
