"""Loading detection models: demo model, sidecar info, clear errors, and no network use."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from napari_microstructure.core.detect import DEMO_MODEL, load_detector, sidecar_path


def test_demo_model_is_shipped_with_its_info():
    det = load_detector(None)
    info = json.loads(sidecar_path(DEMO_MODEL).read_text())
    assert det.path == DEMO_MODEL
    assert det.pixel_size == pytest.approx(info["pixel_size_um"]) and det.pixel_size > 0
    assert list(det.names.values()) == info["classes"]
    assert det.imgsz == info["imgsz"]
    assert DEMO_MODEL.stat().st_size < 5e6
    assert det.torch_model is det.yolo.model
    assert {"inclusion", "pore", "precipitate"} <= set(info["claimed"])
    for cls in info["claimed"]:  # the model card's claim, measured on a held-out set
        assert info["metrics"]["per_class"][cls]["mAP50"] >= 0.9


def test_sidecar_overrides_and_checkpoint_fallback(tmp_path):
    pt = tmp_path / "mine.pt"
    shutil.copyfile(DEMO_MODEL, pt)
    shipped = json.loads(sidecar_path(DEMO_MODEL).read_text())
    assert load_detector(pt).pixel_size == shipped["pixel_size_um"]  # from the checkpoint
    sidecar_path(pt).write_text(json.dumps({"pixel_size_um": 0.125, "imgsz": 256}))
    det = load_detector(pt)
    assert det.pixel_size == 0.125 and det.imgsz == 256
    sidecar_path(pt).write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_detector(pt)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "not found"),
        (b"", "not a readable PyTorch checkpoint"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "not a readable PyTorch checkpoint"),
        ("truncated", "not a readable PyTorch checkpoint"),
        ("tensor", "not an ultralytics model checkpoint"),
    ],
)
def test_bad_files_give_clear_messages(tmp_path, content, match):
    import torch

    pt = tmp_path / "model.pt"
    if content == "truncated":
        pt.write_bytes(DEMO_MODEL.read_bytes()[:5000])
    elif content == "tensor":
        torch.save({"weights": torch.zeros(3)}, pt)
    elif content is not None:
        pt.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        load_detector(pt)


def test_wrong_suffix_and_wrong_task(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"x")
    with pytest.raises(ValueError, match="ending in .pt"):
        load_detector(tmp_path / "model.onnx")
    from ultralytics import YOLO

    for yaml, task in (("yolov8n-cls.yaml", "classify"), ("yolov8n-seg.yaml", "segment")):
        pt = tmp_path / f"{task}.pt"
        YOLO(yaml).save(str(pt))
        with pytest.raises(ValueError, match=f"'{task}' model"):
            load_detector(pt)


def test_networks_without_a_yolo_detect_head_are_refused(tmp_path):
    import torch
    from ultralytics import RTDETR

    pt = tmp_path / "rtdetr.pt"
    RTDETR("rtdetr-l.yaml").save(str(pt))  # task "detect", but another head and output
    with pytest.raises(ValueError, match="ends in RTDETRDecoder, not a YOLO Detect head"):
        load_detector(pt)
    foreign = tmp_path / "resnet.pt"  # another program's checkpoint of a classifier
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    torch.save({"model": net, "epoch": 3}, foreign)
    with pytest.raises(ValueError, match="not a YOLO detection model"):
        load_detector(foreign)


@pytest.mark.parametrize("bad", ["NaN", '"abc"', "-1", "0"])
def test_a_bad_recorded_pixel_size_is_named(tmp_path, bad):
    pt = tmp_path / "mine.pt"
    shutil.copyfile(DEMO_MODEL, pt)
    sidecar_path(pt).write_text('{"pixel_size_um": ' + bad + "}")
    with pytest.raises(ValueError, match="mine.json.* must be a positive number of µm"):
        load_detector(pt)


def test_load_and_detect_make_no_network_attempt(tmp_path):
    """In a fresh process with sockets disabled, importing, loading and detecting all work."""
    code = textwrap.dedent(
        """
        import socket
        attempts = []
        def refuse(*a, **k):
            attempts.append(a[:2])
            raise OSError("network disabled in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        import numpy as np
        import napari_microstructure
        from napari_microstructure.core.detect import detect, load_detector
        from napari_microstructure.core.progress import run_to_end
        det = load_detector(None)
        df = run_to_end(detect(np.full((400, 300), 180, np.uint8), det, pixel_size=0.5))
        print("attempts", len(attempts), "rows", len(df))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "attempts 0 rows" in out.stdout
