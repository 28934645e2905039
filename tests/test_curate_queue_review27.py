"""Curate's queue: images are matched to the project's by their pixels (a moved or renamed
image already in the project is not added again), a file gone since the ranking is skipped
(told once), and Open next writes the project in its worker, not on the GUI thread."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from _curate_helpers import COUNTS, queue_of

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.manifest import MANIFEST
from napari_microstructure.core.imageio import read_micrograph
from napari_microstructure.core.synthetic import generate

CLASSES = "inclusion, pore, crack, precipitate"  # the demo detector's


@pytest.fixture
def widget(curate_dock, tmp_path):
    return curate_dock(tmp_path / "proj", CLASSES)


def _folder(tmp_path: Path, n: int = 3, name: str = "unlabelled") -> Path:
    from skimage.io import imsave

    folder = tmp_path / name
    folder.mkdir()
    for s in range(n):
        m = generate("defects", shape=(128, 128), pixel_size=0.5, seed=100 + s, **COUNTS)
        imsave(folder / f"u{s}.png", m.image, check_contrast=False)
    return folder


def _state(panel, name: str) -> str:
    (row,) = [r for r in panel.table_rows if r[1] == name]
    return row[-1]


# -- 1. a moved or renamed image already in the project ---------------------------------------
def test_a_moved_folder_keeps_its_done_images_done(widget, tmp_path, wait_idle):
    folder = _folder(tmp_path)
    panel = widget.queue_panel
    assert panel.rank(folder) is not None
    wait_idle(widget, 120_000)
    top = Path(panel.next_path).name
    assert panel.open_next() is not None
    wait_idle(widget, 120_000)
    widget.mark_done(widget.current_image_id)
    moved = folder.rename(tmp_path / "moved")
    assert panel.rank(moved) is not None
    wait_idle(widget, 120_000)
    assert _state(panel, top) == "yes"  # done, though its path is another now
    assert panel.next_path is not None and Path(panel.next_path).name != top
    while panel.next_path is not None:
        assert panel.open_next() is not None
        wait_idle(widget, 120_000)
        widget.mark_done(widget.current_image_id)
    names = [widget.project.image_record(i)["name"] for i in widget.project.image_ids]
    assert sorted(names) == ["u0.png", "u1.png", "u2.png"]  # none added twice


def test_open_next_opens_the_projects_copy_of_a_renamed_image(widget, tmp_path, wait_idle):
    folder = _folder(tmp_path, n=1)
    panel = widget.queue_panel
    assert panel.rank(folder) is not None
    wait_idle(widget, 120_000)
    assert panel.open_next() is not None
    wait_idle(widget, 120_000)
    image_id = widget.current_image_id
    labels = widget.layers_of(image_id)["instances"]
    labels.data[10:20, 10:20] = 7
    labels.events.data()
    rev = widget.flush()
    (folder / "u0.png").rename(folder / "renamed.png")
    assert panel.rank(folder) is not None
    wait_idle(widget, 120_000)
    assert _state(panel, "renamed.png") == "in project"  # not done yet: still queued
    assert panel.open_next() is not None
    wait_idle(widget, 120_000)
    assert widget.project.image_ids == [image_id]  # opened, not added again
    assert widget.current_image_id == image_id and widget.saved_rev == rev
    shown = widget.layers_of(image_id)["instances"].data
    assert (np.asarray(shown[10:20, 10:20]) == 7).all()  # with its saved labels


def test_an_older_project_file_is_matched_by_the_pixels_too(curate_dock, tmp_path, wait_idle):
    """Image records written before digests were recorded: computed from the stored pixels."""
    folder = _folder(tmp_path, n=2)
    project = Project.create(tmp_path / "proj", classes=[c.strip() for c in CLASSES.split(",")])
    mf = read_micrograph(folder / "u0.png")
    done = project.add_image(mf.data, "u0.png", pixel_size=mf.pixel_size, source=folder / "u0.png")
    project.set_done(done)
    manifest = json.loads((project.root / MANIFEST).read_text("utf-8"))
    manifest["images"][0].pop("digest", None)
    (project.root / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    moved = folder.rename(tmp_path / "moved")
    widget = curate_dock(tmp_path / "proj", CLASSES)
    panel = widget.queue_panel
    assert panel.rank(moved) is not None
    wait_idle(widget, 120_000)
    assert _state(panel, "u0.png") == "yes"
    assert Path(panel.next_path).name == "u1.png"


def test_the_project_finds_an_image_by_its_pixels(tmp_path):
    from napari_microstructure.core.curate.digest import pixel_digest

    image = np.arange(48 * 64, dtype=np.uint16).reshape(48, 64)
    assert pixel_digest(image) == pixel_digest(image.astype(">u2"))  # same values
    assert pixel_digest(image) != pixel_digest(image.astype(np.uint8))
    project = Project.create(tmp_path / "proj")
    iid = project.add_image(image, "a.png", source=tmp_path / "a.png")
    digest = pixel_digest(image)
    assert project.image_record(iid)["digest"] == digest
    assert project.find_image(str(tmp_path / "b.png"), digest) == iid
    assert project.match_images([str(tmp_path / "a.png"), "x.png"], [None, digest]) == [
        [iid],
        [iid],
    ]
    # an older record (no digest): known once learnt from its pixels (and not written)
    manifest = json.loads((project.root / MANIFEST).read_text("utf-8"))
    manifest["images"][0].pop("digest", None)
    (project.root / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    older = Project.open(project.root)
    assert older.find_image("x.png", digest) is None
    older.learn_digests(["1x1:nothing"])  # no image of that size: nothing read
    assert older.known_digest(iid) is None
    older.learn_digests([digest])
    assert older.find_image("x.png", digest) == iid
    assert "digest" not in json.loads((project.root / MANIFEST).read_text("utf-8"))["images"][0]


# -- 2. a file gone since the ranking --------------------------------------------------------
def test_open_next_skips_a_file_gone_since_the_ranking(widget, curate_told, tmp_path, wait_idle):
    paths = sorted(_folder(tmp_path).glob("*.png"))
    panel = widget.queue_panel
    queue_of(panel, paths)
    paths[0].unlink()
    assert panel.open_next() is not None
    wait_idle(widget, 120_000)
    image_id = widget.current_image_id
    assert image_id is not None
    assert widget.project.image_record(image_id)["source"] == str(paths[1].resolve())
    assert panel.table_rows[0][-1] == "gone"
    widget.mark_done(image_id)
    assert panel.open_next() is not None
    wait_idle(widget, 120_000)
    assert widget.project.image_record(widget.current_image_id)["name"] == "u2.png"
    told = [m for m in curate_told if "u0.png" in m]
    assert len(told) == 1 and "no longer there" in told[0]  # told once


def test_a_file_deleted_while_open_next_runs_is_marked_gone(widget, curate_told, tmp_path):
    from napari_microstructure.widgets._curate_queue_open import Opened

    paths = sorted(_folder(tmp_path, n=2).glob("*.png"))
    panel = widget.queue_panel
    queue_of(panel, paths)
    panel._opened(Opened(str(paths[0]), gone=True))
    assert panel.table_rows[0][-1] == "gone" and panel.next_path == str(paths[1])
    assert "u0.png" in curate_told[-1] and widget.project.image_ids == []


# -- 3. the project's writes in Open next's worker ----------------------------------------------
def test_open_next_writes_the_project_off_the_gui_thread(widget, tmp_path, wait_idle, monkeypatch):
    calls: list[tuple[str, bool]] = []
    for name in ("add_image", "save_labels"):
        original = getattr(Project, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            on_gui = threading.current_thread() is threading.main_thread()
            if _name == "add_image" or str(kwargs.get("source", "")).startswith("model:"):
                calls.append((_name, on_gui))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Project, name, spy)
    paths = sorted(_folder(tmp_path, n=1).glob("*.png"))
    queue_of(widget.queue_panel, paths)
    assert widget.queue_panel.open_next() is not None
    wait_idle(widget, 120_000)
    image_id = widget.current_image_id
    assert image_id is not None and widget.project.load_labels(image_id).boxes
    assert calls == [("add_image", False), ("save_labels", False)]
    # its image layer is made on the GUI thread, as before
    assert [lay.name for lay in widget.viewer.layers if lay.name == "u0.png"] == ["u0.png"]


def test_an_image_added_through_another_object_of_the_project_is_opened(widget, tmp_path):
    """The dock reopened its project while Open next's worker added the image: the dock's
    object read the project before the addition, and is brought up to date."""
    from napari_microstructure.widgets._curate_queue_open import Opened

    (path,) = sorted(_folder(tmp_path, n=1).glob("*.png"))
    other = Project.open(widget.project.root)
    mf = read_micrograph(path)
    image_id = other.add_image(mf.data, path.name, pixel_size=mf.pixel_size, source=path)
    queue_of(widget.queue_panel, [path])
    widget.queue_panel._opened(Opened(str(path), other, image_id, mf, added=True))
    assert widget.current_image_id == image_id and widget.project.image_ids == [image_id]
    assert widget.queue_panel.table_rows[0][-1] == "in project"
