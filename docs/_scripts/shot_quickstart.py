"""Screenshot for docs/installation.md: the viewer as `scripts/start.sh` opens it."""

from _shot import save, settle

from napari_microstructure.app import open_viewer

viewer = open_viewer()
viewer.window._qt_window.resize(1600, 950)  # size only; no public API for it
settle(viewer, 800)
print(save(viewer, "quickstart"))
