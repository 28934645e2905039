"""A detector file written again (a retrained model saved to the same path) is another model:
the Explain and Detect docks load it again, and maps of the model loaded before are never
cached under the new file's identity."""

from __future__ import annotations

import os
import shutil

import numpy as np

import napari_microstructure  # noqa: F401  (offline ultralytics settings)
from napari_microstructure.core.detect import DEMO_MODEL, file_identity, load_detector
from napari_microstructure.core.explain import explain_model
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.widgets.detect import DetectWidget
from napari_microstructure.widgets.explain import ExplainWidget


def _model_copy(tmp_path):
    path = tmp_path / "m.pt"
    shutil.copy(DEMO_MODEL, path)
    shutil.copy(DEMO_MODEL.with_suffix(".json"), tmp_path / "m.json")
    return path


def _written_again(path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_explain_key_is_the_file_as_it_was_loaded(tmp_path):
    path = _model_copy(tmp_path)
    loaded = load_detector(path)
    key = explain_model(loaded).key
    assert loaded.file_id == file_identity(path) != ""
    _written_again(path)
    assert explain_model(loaded).key == key  # still the weights in memory
    assert explain_model(load_detector(path)).key != key  # the file now holds another model
    assert file_identity(tmp_path / "missing.pt") == "" and file_identity(None) == ""


def test_docks_load_a_model_file_written_again(make_napari_viewer, tmp_path):
    path = _model_copy(tmp_path)
    viewer = make_napari_viewer()
    explain = ExplainWidget(viewer)
    explain.model_path = str(path)
    first = run_to_end(explain._load_detector())
    assert run_to_end(explain._load_detector()) is first  # kept while the file is unchanged
    _written_again(path)
    again = run_to_end(explain._load_detector())
    assert again is not first and again.file_id == file_identity(path)

    detect = DetectWidget(viewer)
    image = np.zeros((64, 64), np.uint8)
    run_to_end(detect._work(image, 0.5, path, {}))
    kept = detect._detector
    _written_again(path)
    run_to_end(detect._work(image, 0.5, path, {}))
    assert detect._detector is not kept and detect._detector.file_id == file_identity(path)
