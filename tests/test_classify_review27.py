"""Classify, review 27: a lazily loaded image is read by the worker (classify, added examples),
a pixel size that is not finite is refused or treated as missing, and a model trained in the
dock and not saved is not replaced without a warning."""

from __future__ import annotations

import dataclasses
import json
import math
import threading

import numpy as np
import pytest
from _classify_data import noise, stripes, tiny_classifier
from _notices import captured_messages

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.classify import (
    classify_files,
    classify_image,
    load_folder,
)
from napari_microstructure.core.classify.dataset import FolderPixelSizes
from napari_microstructure.core.progress import run_to_end


@pytest.fixture(scope="module")
def tiny():
    return tiny_classifier()


# -- 1. a lazy image is read by the worker, never on napari's thread -------------------------
class _Reads:
    """A dask image whose reads are counted on napari's (the main) thread."""

    def __init__(self) -> None:
        self.on_gui = 0
        self.elsewhere = 0

    def gui_reads(self, call):
        """``call()`` and how many reads it made on napari's thread."""
        before = self.on_gui
        result = call()
        return result, self.on_gui - before

    def image(self, pixels: np.ndarray):
        import dask
        import dask.array as da

        def load() -> np.ndarray:
            if threading.current_thread() is threading.main_thread():
                self.on_gui += 1
            else:
                self.elsewhere += 1
            return pixels

        return da.from_delayed(dask.delayed(load)(), shape=pixels.shape, dtype=pixels.dtype)


def test_lazy_image_is_read_by_the_worker(
    make_napari_viewer, qtbot, tiny, tmp_path, settings_home, wait_idle
):
    import dask

    from napari_microstructure.widgets.classify import ClassifyWidget

    path = tiny.save(tmp_path / "tiny.pt")
    reads = _Reads()
    viewer = make_napari_viewer()
    widget = ClassifyWidget(viewer)
    # the synchronous scheduler reads in the calling thread: a read on napari's is seen
    with dask.config.set(scheduler="synchronous"):
        viewer.add_image(reads.image(stripes(3.0)), **image_layer_kwargs(0.5, "lazy"))
        widget.image_layer = viewer.layers["lazy"]
        widget.model_path = path
        widget.n_crops = 4
        widget.set_options(class_map=False, gradcam=False)
        worker, on_gui = reads.gui_reads(widget.classify)
        assert worker is not None and on_gui == 0
        wait_idle(widget, 120_000)
        assert reads.elsewhere >= 1 and widget.prediction is not None
        assert widget.prediction.n_crops == 4
        assert "lazy" in widget._info.value.splitlines()[0]

        # added examples: kept unread, read by the training worker
        reads.elsewhere = 0
        assert reads.gui_reads(lambda: widget.add_image("stripes")) == (True, 0)
        for i in range(2):  # in memory, as before
            viewer.add_image(noise(i), **image_layer_kwargs(0.5, f"noise{i}"))
            widget.image_layer = viewer.layers[f"noise{i}"]
            assert widget.add_image("noise")
        widget.image_layer = viewer.layers["lazy"]
        assert reads.gui_reads(lambda: widget.add_image("stripes")) == (True, 0)
        assert reads.elsewhere == 0
        assert [s.label for s in widget.extra_samples] == ["stripes", "noise", "noise", "stripes"]
        widget.steps = 10
        worker, on_gui = reads.gui_reads(widget.train)
        assert worker is not None and on_gui == 0
        wait_idle(widget, 120_000)
        assert reads.elsewhere == 2
        assert widget.model is not None and widget.model.classes == ["noise", "stripes"]


def test_a_lazy_example_too_small_is_refused_by_the_training(
    make_napari_viewer, qtbot, settings_home, wait_idle, monkeypatch
):
    import napari_microstructure.widgets._base as base
    import napari_microstructure.widgets.classify as mod

    shown = captured_messages(monkeypatch, mod, base)
    reads = _Reads()
    viewer = make_napari_viewer()
    widget = mod.ClassifyWidget(viewer)
    viewer.add_image(reads.image(noise(0)[:20, :20]), **image_layer_kwargs(0.5, "crumb"))
    assert widget.add_image("noise")
    viewer.add_image(stripes(2.0), **image_layer_kwargs(0.5, "lines"))
    widget.image_layer = viewer.layers["lines"]
    assert widget.add_image("stripes")
    widget.steps = 10
    assert widget.train() is not None
    wait_idle(widget, 60_000)
    assert widget.model is None
    assert any("smaller than half the crop size" in m and "crumb" in m for m in shown), shown


# -- 2. pixel sizes that are not finite ---------------------------------------------------------
@pytest.mark.parametrize("text", ["Infinity", "-Infinity", "NaN"])
def test_pixel_sizes_json_refuses_a_size_that_is_not_finite(tmp_path, text):
    from skimage.io import imsave

    root = tmp_path / "set"
    for label, image in (("noise", noise(0)), ("stripes", stripes(2.0))):
        (root / label).mkdir(parents=True)
        imsave(root / label / "a.png", image, check_contrast=False)
    (root / "pixel_sizes.json").write_text(f'{{"default": {text}}}')
    with pytest.raises(ValueError, match=r"pixel_sizes\.json: pixel size of 'default' must be"):
        FolderPixelSizes(root)
    (root / "pixel_sizes.json").write_text(json.dumps({"stripes/a.png": float(text)}))
    with pytest.raises(ValueError, match="finite number > 0"):
        load_folder(root)


@pytest.mark.parametrize("size", [math.inf, math.nan])
def test_a_pixel_size_that_is_not_finite_counts_as_missing(tiny, tmp_path, size):
    pred = classify_image(tiny, stripes(3.0), size, n_crops=4)
    assert all(math.isfinite(p) for p in pred.probabilities.values())
    assert math.isclose(sum(pred.probabilities.values()), 1.0, rel_tol=1e-5)
    assert pred.pixel_size == tiny.default_pixel_size
    assert any("unusable; assumed" in w for w in pred.warnings), pred.warnings
    # a folder classified with such a size given for every file: the same
    from skimage.io import imsave

    imsave(tmp_path / "a.png", stripes(3.0), check_contrast=False)
    df = run_to_end(classify_files(tiny, [tmp_path / "a.png"], pixel_size=size, n_crops=4))
    row = df.iloc[0]
    if math.isnan(size):  # refused by the reader, in the file's row
        assert row["predicted"] == "" and "pixel size" in row["note"]
        return
    assert row["pixel_size_um"] == tiny.default_pixel_size and "unusable" in row["note"]
    assert np.isfinite(row[["noise", "stripes", "none_of_these"]].astype(float)).all()


# -- 3. a model trained in the dock and not saved ------------------------------------------------
def test_an_unsaved_trained_model_is_replaced_only_on_a_second_try(
    make_napari_viewer, qtbot, tiny, tmp_path, settings_home, wait_idle, monkeypatch
):
    import napari_microstructure.widgets._base as base
    import napari_microstructure.widgets.classify as mod

    shown = captured_messages(monkeypatch, mod, base)
    path = tiny.save(tmp_path / "tiny.pt")
    other = dataclasses.replace(tiny, classes=["a", "b"], path=None).save(tmp_path / "other.pt")
    viewer = make_napari_viewer()
    viewer.add_image(stripes(3.0), **image_layer_kwargs(0.5, "lines"))
    widget = mod.ClassifyWidget(viewer)
    widget.n_crops = 4
    widget.set_options(class_map=False, gradcam=False)
    widget.model_path = path

    def trained_here():
        model = dataclasses.replace(tiny, classes=["w", "x"], path=None)
        widget._on_trained(model, None)  # as a training without "save model to" ends
        return model

    # Load model: refused once with a warning naming Save model, then it goes ahead
    mine = trained_here()
    shown.clear()
    assert not widget.load_model() and widget.model is mine
    assert len(shown) == 1 and "not saved" in shown[0] and "Save model" in shown[0], shown
    assert widget.load_model()
    wait_idle(widget, 60_000)
    assert widget.model.classes == ["noise", "stripes"]

    # another model file chosen, then Classify: the same rule
    mine = trained_here()
    widget.model_path = other
    shown.clear()
    assert widget.classify() is None and not widget.busy and widget.model is mine
    assert "not saved" in shown[0] and "other.pt" in shown[0], shown
    assert widget.classify() is not None
    wait_idle(widget, 120_000)
    assert widget.model.path == other and set(widget.probabilities) == {"a", "b", "none_of_these"}

    # trained again: warned anew; saved: replaced without a word
    mine = trained_here()
    widget.model_path = path
    shown.clear()
    assert not widget.load_model() and len(shown) == 1
    assert widget.save_model(tmp_path / "mine.pt") and mine.path == tmp_path / "mine.pt"
    widget.model_path = path
    shown.clear()
    assert widget.load_model()
    wait_idle(widget, 60_000)
    assert widget.model.path == path and shown == []
    # the field unchanged since training: the model trained here classifies, no warning
    trained_here()
    shown.clear()
    assert widget.classify() is not None and shown == []
    wait_idle(widget, 120_000)
    assert set(widget.probabilities) == {"w", "x", "none_of_these"}
