"""Review 26: Detect reads a lazy image in its worker; a model's recorded ``imgsz`` is checked."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest

from napari_microstructure.core.detect import DEMO_MODEL, load_detector, sidecar_path


def _defects() -> np.ndarray:
    from _detect_data import defects_image

    img, _ = defects_image(
        320, 4242, n_inclusions=5, n_pores=3, n_cracks=0, n_precipitates=6, n_scratches=0
    )
    return img


def _lazy(planes: list[np.ndarray], reads: list[tuple[int, bool]]):
    """A dask stack (or a 2-D image for one plane) of 2 x 2 chunks per plane; each chunk read
    records its plane and whether it ran on the main (GUI) thread."""
    import dask
    import dask.array as da

    def load(k: int, block: np.ndarray) -> np.ndarray:
        reads.append((k, threading.current_thread() is threading.main_thread()))
        return block

    stack = []
    for k, img in enumerate(planes):
        h, w = img.shape[0] // 2, img.shape[1] // 2
        rows = []
        for y in (0, h):
            row = []
            for x in (0, w):
                block = img[y : y + h, x : x + w]
                lazy = dask.delayed(load)(k, block)
                chunk = da.from_delayed(lazy, block.shape, img.dtype)
                row.append([chunk] if img.ndim == 3 else chunk)  # RGB: rows, columns, colour
            rows.append(row)
        stack.append(da.block(rows))
    return stack[0] if len(stack) == 1 else da.stack(stack)


@pytest.mark.parametrize("kind", ["grey", "stack", "rgb", "tile by tile"])
def test_a_lazy_image_is_read_by_the_worker_not_on_the_gui_thread(
    kind, make_napari_viewer, settings_home, wait_idle, monkeypatch
):
    import dask

    from napari_microstructure.widgets.detect import DetectWidget

    img = np.tile(_defects(), (2, 2))  # 640 x 640: 4 tiles of the demo model
    if kind == "rgb":
        img = np.repeat(img[..., None], 3, axis=-1)
    planes = [np.full_like(img, 128), img] if kind == "stack" else [img]
    if kind == "tile by tile":  # too large to read whole: detection reads its tiles
        from napari_microstructure._layers import plane_source

        monkeypatch.setattr(plane_source, "READ_WHOLE_BYTES", 0)
    reads: list[tuple[int, bool]] = []
    viewer = make_napari_viewer()
    # chunks are read in the thread that asks for them, as a slow store would block it
    with dask.config.set(scheduler="synchronous"):
        viewer.add_image(_lazy(planes, reads), name="lazy", scale=(0.5, 0.5), rgb=kind == "rgb")
        if kind == "stack":
            viewer.dims.set_current_step(0, 1)
        reads.clear()  # napari's own reads to show it
        widget = DetectWidget(viewer)
        assert widget.run() is not None
        wait_idle(widget)
    assert reads, "the image was never read"
    assert not [r for r in reads if r[1]], "chunks were read on the GUI thread"
    assert {k for k, _ in reads} == {len(planes) - 1}  # the plane on screen only
    if kind != "tile by tile":
        assert len(reads) == 4  # read whole: each chunk once
    # the same boxes as on the image in memory
    mem = make_napari_viewer()
    mem.add_image(np.stack(planes) if kind == "stack" else img, name="mem", scale=(0.5, 0.5))
    if kind == "stack":
        mem.dims.set_current_step(0, 1)
    ref = DetectWidget(mem)
    assert ref.run() is not None
    wait_idle(ref)
    assert len(ref.result) >= 4 * 12
    got = widget.result[["x1", "y1", "x2", "y2", "class_name"]]
    want = ref.result[["x1", "y1", "x2", "y2", "class_name"]]
    assert got.round(3).equals(want.round(3))
    assert widget.layer.nshapes == len(widget.result)
    assert widget.layer.name == "lazy detections" + (" (plane 1)" if kind == "stack" else "")
    widget.close()
    ref.close()


def test_a_lazy_image_that_fails_to_read_is_reported(
    make_napari_viewer, settings_home, qtbot, monkeypatch
):
    import dask
    import dask.array as da

    from napari_microstructure.widgets import _base
    from napari_microstructure.widgets.detect import DetectWidget

    def broken() -> np.ndarray:
        if threading.current_thread() is threading.main_thread():
            return np.zeros((64, 64), np.uint8)  # napari shows it
        raise OSError("the network share went away")

    errors: list[str] = []
    monkeypatch.setattr(_base, "show_error", errors.append)
    viewer = make_napari_viewer()
    with dask.config.set(scheduler="synchronous"):
        viewer.add_image(da.from_delayed(dask.delayed(broken)(), (64, 64), np.uint8))
        widget = DetectWidget(viewer)
        assert widget.run() is not None
        qtbot.waitUntil(lambda: bool(errors) and not widget.busy, timeout=60_000)
    assert errors[0] == "Detect failed: the network share went away"
    assert widget.layer is None
    widget.close()


@pytest.fixture
def own_model(tmp_path):
    pt = tmp_path / "mine.pt"
    shutil.copyfile(DEMO_MODEL, pt)
    return pt


@pytest.mark.parametrize(
    "imgsz",
    ["abc", -320, {"a": 1}, True, 10, 0, 100_000, [320, "x"], [], 320.5, "nan", "²", "-320"],
)
def test_a_recorded_imgsz_that_is_no_input_size_is_refused(own_model, imgsz):
    sidecar_path(own_model).write_text(json.dumps({"imgsz": imgsz}))
    with pytest.raises(ValueError, match=r"mine\.pt: .*imgsz in the checkpoint or in mine\.json"):
        load_detector(own_model)


@pytest.mark.parametrize(
    ("imgsz", "size"), [(256, 256), ("320", 320), (640.0, 640), ([256, 320], 320), (100, 128)]
)
def test_a_recorded_imgsz_is_taken_rounded_up_to_the_stride(own_model, imgsz, size):
    sidecar_path(own_model).write_text(json.dumps({"imgsz": imgsz}))
    det = load_detector(own_model)
    assert det.stride == 32 and det.imgsz == size


def test_the_dock_and_the_cli_show_a_bad_imgsz(
    own_model, tmp_path, capsys, make_napari_viewer, settings_home, qtbot, monkeypatch
):
    import cv2

    from napari_microstructure.cli import main
    from napari_microstructure.widgets import detect as mod

    sidecar_path(own_model).write_text(json.dumps({"imgsz": -320}))
    png = tmp_path / "img.png"
    cv2.imwrite(str(png), _defects())
    assert main(["detect", str(png), "--model", str(own_model)]) == 2
    err = capsys.readouterr().err
    assert "imgsz" in err and "mine.json" in err and "Traceback" not in err

    errors: list[str] = []
    monkeypatch.setattr(mod, "show_error", errors.append)
    viewer = make_napari_viewer()
    viewer.add_image(_defects())
    widget = mod.DetectWidget(viewer)
    widget.model_path = own_model
    assert widget.run() is not None
    qtbot.waitUntil(lambda: bool(errors) and not widget.busy, timeout=60_000)
    assert errors[0].startswith("Detect failed: mine.pt: the model's input size (imgsz")
    assert widget.layer is None
    widget.close()
