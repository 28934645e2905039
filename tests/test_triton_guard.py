"""torchvision imported after napari's OpenGL context must not crash the process."""

import subprocess
import sys

CODE = """
import napari
viewer = napari.Viewer(show=False)
viewer.add_image(__import__('numpy').zeros((8, 8)))
import napari_microstructure
import torchvision.ops
print('alive')
viewer.close()
"""


def test_import_torchvision_after_viewer_does_not_crash():
    proc = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "alive" in proc.stdout
