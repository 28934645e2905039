"""Importing the package and running detection, training and plotting makes no network attempt."""

import json
import os
import subprocess
import sys

GUARD = """
import json, socket, sys
attempts = []
def _block(name):
    def fn(*args, **kwargs):
        attempts.append([name, repr(args[:2])[:120]])
        raise OSError('network disabled by test')
    return fn
socket.socket.connect = _block('connect')
socket.socket.connect_ex = _block('connect_ex')
socket.create_connection = _block('create_connection')
socket.getaddrinfo = _block('getaddrinfo')
socket.gethostbyname = _block('gethostbyname')
import urllib.request
urllib.request.urlopen = _block('urlopen')
"""

WORK = """
import os
from pathlib import Path
import numpy as np
import napari_microstructure
from napari_microstructure.cli import main
from napari_microstructure.core.detect import detect, load_detector
from napari_microstructure.core.progress import run_to_end
import ultralytics
from ultralytics import YOLO
from napari_microstructure.core.yolo_env import yolo_settings_offline
yolo_settings_offline()
out = Path(sys.argv[1])
assert main(['synth', str(out / 'ds'), '--n', '6', '--seed', '3', '--kind', 'defects',
             '--size', '128', '128']) == 0
det = load_detector(None)
img = np.asarray(__import__('PIL.Image', fromlist=['Image']).open(
    sorted((out / 'ds' / 'images').rglob('*.png'))[0]))
run_to_end(detect(img, det))
model = YOLO('yolov8n.yaml')
model.train(data=str(out / 'ds' / 'data.yaml'), epochs=1, imgsz=64, batch=2, workers=0,
            device='cpu', project=str(out / 'runs'), name='t', plots=True, verbose=False,
            amp=False)
print('CONFIG', os.environ['YOLO_CONFIG_DIR'])
"""


def test_no_network_attempt(tmp_path):
    code = GUARD + WORK + "\nprint('ATTEMPTS', json.dumps(attempts))\n"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("YOLO_CONFIG_DIR", "NAPARI_MICROSTRUCTURE_CACHE")
    }
    env.update(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("ATTEMPTS"))
    assert json.loads(line.split(" ", 1)[1]) == []
    config = next(x for x in proc.stdout.splitlines() if x.startswith("CONFIG")).split(" ", 1)[1]
    # ultralytics' settings and the font live in the project's folder, not in the user's home
    ours = tmp_path / "cache" / "napari-microstructure" / "ultralytics"
    assert config == str(ours)
    assert (ours / "Ultralytics" / "settings.json").is_file()
    assert (ours / "Ultralytics" / "Arial.ttf").is_file()
    assert not (tmp_path / "home" / ".config" / "Ultralytics").exists()


def test_guard_catches_attempts():
    """The guard really records a connection attempt (so the test above can fail)."""
    code = GUARD + (
        "\ntry:\n    socket.create_connection(('127.0.0.1', 9))\nexcept OSError:\n    pass\n"
        "print('ATTEMPTS', json.dumps(attempts))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("ATTEMPTS"))
    assert len(json.loads(line.split(" ", 1)[1])) == 1


def test_settings_of_a_file_not_ours_change_in_memory_only(tmp_path, monkeypatch):
    """ultralytics imported before the package reads the user's own settings file: it is
    never rewritten, the offline values hold in this process only."""
    from ultralytics.utils import SETTINGS

    from napari_microstructure.core.yolo_env import yolo_settings_offline

    user = tmp_path / "settings.json"
    user.write_text("{}")
    monkeypatch.setattr(SETTINGS, "file", user)
    monkeypatch.setattr(SETTINGS, "file_path", user)
    dict.__setitem__(SETTINGS, "sync", True)
    yolo_settings_offline()
    assert SETTINGS["sync"] is False
    assert user.read_text() == "{}"


def test_the_amp_check_downloads_nothing_on_a_gpu(tmp_path, monkeypatch):
    """ultralytics' AMP check fetches yolo26n.pt on CUDA; ours decides by the GPU's name."""
    from types import SimpleNamespace

    import torch
    import ultralytics.engine.trainer as trainer
    from ultralytics import utils

    from napari_microstructure.core.yolo_env import yolo_settings_offline

    yolo_settings_offline()
    calls = []
    monkeypatch.setattr(trainer.check_amp, "__wrapped__", lambda m: calls.append(m) or False)
    monkeypatch.setattr(utils, "WEIGHTS_DIR", tmp_path)  # no reference model there
    weight = SimpleNamespace(device=torch.device("cuda", 0))  # all the check reads of it
    gpu = SimpleNamespace(parameters=lambda: iter([weight]))
    for name, amp in (("NVIDIA H100 80GB HBM3", True), ("NVIDIA GeForce GTX 1660", False)):
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda d, n=name: n)
        assert trainer.check_amp(gpu) is amp
    assert calls == []  # the original check (and its download) never ran
