"""The launcher: bad arguments give one line and exit 2 before napari starts, an unreadable image
or an unwritable screenshot a message and exit 1 (never a hang); the scripts keep the caller's
folder; setup's library check cannot fail on SIGPIPE."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_microstructure import app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_viewer(monkeypatch):
    """Fail at once, rather than start napari (or hang in its event loop)."""

    def refuse(*args, **kwargs):
        raise AssertionError("napari was started for bad arguments")

    monkeypatch.setattr(app, "open_viewer", refuse)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sample", "nope"], "invalid choice: 'nope'"),
        (["{tmp}/missing.tif"], "missing.tif: no such file"),
        (["{tmp}/scan.czi"], "unsupported file type '.czi'"),
        (["{tmp}"], "is a folder"),
        (["--screenshot", "{tmp}/nodir/shot.png"], "nodir does not exist"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, no_viewer, argv, message):
    (tmp_path / "scan.czi").write_bytes(b"CZI")
    with pytest.raises(SystemExit) as exit_:
        app.main([arg.format(tmp=tmp_path) for arg in argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err.splitlines()[-1] and "Traceback" not in err


def test_unreadable_image_is_told_and_the_sample_opens(make_napari_viewer, monkeypatch, tmp_path):
    import napari
    from napari.utils.notifications import notification_manager

    # the test's viewer, so that napari's plugin set-up stays the fixture's
    monkeypatch.setattr(napari, "Viewer", make_napari_viewer)
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a TIFF at all")
    messages: list[str] = []

    def keep(notification) -> None:
        messages.append(notification.message)

    notification_manager.notification_ready.connect(keep)
    failed: list[str] = []
    try:
        viewer = app.open_viewer([str(bad)], show=False, failed=failed)
    finally:
        notification_manager.notification_ready.disconnect(keep)
    assert failed == [str(bad)]
    assert [m for m in messages if "bad.tif" in m] == [
        "bad.tif: cannot be read as an image (truncated or corrupt?): "
        "not a TIFF file: header=b'not '"
    ]
    assert viewer.layers[0].metadata["pixel_size_um"] > 0  # the sample


def _run_app(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "napari_microstructure.app", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=240,
    )


def test_screenshot_of_an_unreadable_image_exits_1_with_a_message(tmp_path):
    (tmp_path / "bad.tif").write_bytes(b"not a TIFF at all")
    proc = _run_app("bad.tif", "--screenshot", "shot.png", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "no screenshot written: cannot open bad.tif" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "shot.png").exists()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc, where no file can be made")
def test_screenshot_that_cannot_be_written_exits_1_instead_of_hanging(tmp_path):
    proc = _run_app("--screenshot", "/proc/nms-shot.png", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "cannot write the screenshot /proc/nms-shot.png" in proc.stderr


# -- scripts, run in a copy of the repository whose set-up and Python are stand-ins ------------


def _fake_repo(tmp_path: Path, script: str) -> tuple[Path, Path]:
    """A repository copy holding ``scripts/<script>``, a set-up that does nothing and a Python
    that writes its folder and arguments to the returned file."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / script, root / "scripts" / script)
    (root / "scripts" / "setup.sh").write_text("#!/usr/bin/env bash\ntrue\n")
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    record = tmp_path / "python_ran.txt"
    python.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$PWD" "$@" > "{record}"\n')
    python.chmod(0o755)
    return root, record


def test_start_sh_resolves_paths_in_the_callers_folder(tmp_path):
    root, record = _fake_repo(tmp_path, "start.sh")
    work = tmp_path / "work"
    work.mkdir()
    tifffile.imwrite(work / "mine.tif", np.zeros((4, 4), np.uint8))
    env = {**os.environ, "DISPLAY": os.environ.get("DISPLAY") or ":0"}
    args = ["mine.tif", "--screenshot", "shot.png"]
    subprocess.run(["bash", str(root / "scripts/start.sh"), *args], cwd=work, env=env, check=True)
    ran = record.read_text().splitlines()
    assert ran[0] == str(work) and ran[-3:] == args


def test_test_sh_resolves_test_paths_in_the_callers_folder(tmp_path):
    root, record = _fake_repo(tmp_path, "test.sh")
    work = tmp_path / "work"
    (work / "tests").mkdir(parents=True)
    (work / "tests" / "test_x.py").write_text("")
    script = str(root / "scripts/test.sh")
    subprocess.run(["bash", script, "tests/test_x.py::t", "-q"], cwd=work, check=True)
    assert record.read_text().splitlines()[0] == str(work)
    subprocess.run(["bash", script, "-q"], cwd=work, check=True)  # the whole suite: from root
    assert record.read_text().splitlines()[0] == str(root)


def test_setup_sh_library_check_survives_sigpipe(tmp_path):
    """``ldconfig -p | grep -q`` under pipefail failed whenever grep's early exit killed
    ldconfig; set-up then ran apt-get on an ordinary start."""
    root, _ = _fake_repo(tmp_path, "setup.sh")
    shutil.copy(ROOT / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    (root / "pyproject.toml").write_text("[project]\n")
    digest = hashlib.sha256(b"[project]\n").hexdigest()
    (root / ".venv" / ".napari-microstructure-installed").write_text(digest + "\n")
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    marker = tmp_path / "apt-get-ran"
    stubs = {
        # the library first, then far more than a pipe holds: grep -q leaves, ldconfig dies
        "ldconfig": "echo 'libxcb-icccm.so.4 (libc6,x86-64) => /lib/libxcb-icccm.so.4'\n"
        "seq -f 'libother%g.so' 1 400000\n",
        "xvfb-run": "true\n",
        "apt-get": f"touch '{marker}'\n",
    }
    for name, body in stubs.items():
        (bin_ / name).write_text("#!/usr/bin/env bash\n" + body)
        (bin_ / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}"}
    assert shutil.which("apt-get", path=env["PATH"]) == str(bin_ / "apt-get")
    proc = subprocess.run(
        ["bash", str(root / "scripts/setup.sh")], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists() and "please install" not in proc.stderr
