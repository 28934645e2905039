"""core/ is pure computation: importing all of it never pulls in Qt, napari or magicgui."""

import subprocess
import sys

CODE = """
import importlib, pkgutil, sys
import napari_microstructure.core as core
names = [m.name for m in pkgutil.walk_packages(core.__path__, core.__name__ + '.')]
for name in names:
    importlib.import_module(name)
bad = sorted(m for m in sys.modules if m.split('.')[0] in {'qtpy', 'napari', 'magicgui',
             'PyQt5', 'PyQt6', 'PySide2', 'PySide6'})
print(len(names), 'modules;', 'forbidden:', bad)
sys.exit(1 if bad else 0)
"""


def test_core_never_imports_gui_packages():
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    n_modules = int(proc.stdout.split()[0])
    assert n_modules >= 5  # the walk really imported the core modules
