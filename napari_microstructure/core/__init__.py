"""Pure computation for napari-microstructure.

Nothing in this package imports qtpy, napari or magicgui; the batch command line and the dock
widgets both call into it.
"""
