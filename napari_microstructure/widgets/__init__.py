"""Dock widgets: thin adapters between napari layers and :mod:`napari_microstructure.core`."""
