"""Test settings: every user folder (napari, ultralytics, our caches) inside a temp folder,
removed when the run ends."""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="nms-tests-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)  # a run leaves nothing in /tmp
for _var, _sub in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_CACHE_HOME", "cache"),
    ("NAPARI_MICROSTRUCTURE_CONFIG", "config/napari-microstructure"),
    ("NAPARI_MICROSTRUCTURE_CACHE", "cache/napari-microstructure"),
    ("YOLO_CONFIG_DIR", "cache/napari-microstructure/ultralytics"),
    ("MPLCONFIGDIR", "mpl"),
):
    os.environ[_var] = str(_HOME / _sub)
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402

_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session, exitstatus) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config) -> None:
    """End the process once pytest has reported and every plugin has stopped (Xvfb too).

    Left to itself, the interpreter's exit (the exit handlers and teardown of Qt, OpenGL and
    torch) crashed now and then after a run whose tests had all passed ("Segmentation fault"
    with no Python frame, about 1 run in 6 of the refine widget tests together, also on older
    commits), turning a passing run into exit status 139. Only this file's exit handler (the
    temp folder's removal) runs before the process ends with pytest's own status.
    """
    if not _EXIT_STATUS:
        return
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    shutil.rmtree(_HOME, ignore_errors=True)
    os._exit(_EXIT_STATUS[-1])


@pytest.fixture(autouse=True)
def _frozen_survivors():
    """After each test (and its viewers' teardown): collect its garbage, then move what
    survives out of the collector's reach (``gc.freeze``).

    napari's viewer fixture runs a full collection at every teardown, which scans every object
    alive; the heap grew to millions of objects over the suite (modules, session fixtures and
    caches), so that teardowns took most of the suite's time (measured on 370 tests: 117 s
    of teardown, 105 s of it in full collections). Frozen, the survivors are not scanned again;
    objects that become garbage later are still freed by reference counting.
    """
    yield
    gc.collect()
    gc.freeze()


@pytest.fixture
def settings_home(tmp_path, monkeypatch) -> Path:
    """A fresh settings folder for one test (remembered paths start empty)."""
    cfg = tmp_path / "config"
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CONFIG", str(cfg))
    return cfg


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test: two spinning threads are ~20x slower on a shared
    2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def cache_home(tmp_path, monkeypatch) -> Path:
    """A fresh cache folder for one test (embeddings, maps)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def tiny_sam_checkpoint(tmp_path_factory) -> Path:
    """A tiny Segment Anything checkpoint (tests/_refine_tiny_sam.py), made once."""
    from _refine_tiny_sam import save_tiny_checkpoint

    return save_tiny_checkpoint(tmp_path_factory.mktemp("sam") / "tiny.pth")


@pytest.fixture
def wait_idle(qtbot):
    """``wait_idle(widget, timeout_ms)``: wait until a worker widget has handled its last run.

    Waiting for ``worker.finished`` after the widget has started the worker misses a worker
    that finished before the wait was connected (seen under load); ``busy`` is set before the
    start and cleared only when the result, error or cancel has been handled.
    """

    def wait(widget, timeout: int = 60_000) -> None:
        qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)

    return wait


@pytest.fixture
def curate_dock(make_napari_viewer, settings_home):
    """``curate_dock(root, classes)``: a Curate dock on the project at ``root`` (created with
    ``classes``, a comma-separated list), autosave far off: an edit stays pending until
    something flushes it. Closed at the end of the test."""
    from napari_microstructure.widgets.curate import CurateWidget

    docks = []

    def make(root, classes: str = "inclusion, pore"):
        w = CurateWidget(make_napari_viewer(), autosave_ms=600_000)
        w._classes.value = classes
        assert w.open_project(root) is not None
        docks.append(w)
        return w

    yield make
    for w in docks:
        w.close()


@pytest.fixture
def curate_told(monkeypatch) -> list[str]:
    """What the Curate dock and its parts show, in order."""
    from _notices import curate_messages

    return curate_messages(monkeypatch)
