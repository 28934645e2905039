"""Image ids name the project's files: two images whose names differ only in case get ids that
differ in more than case, so they cannot share a file on a case-insensitive disk."""

from __future__ import annotations

import numpy as np

from napari_microstructure.core.curate.project import Project


def test_ids_differing_only_in_case_get_their_own_files(tmp_path):
    project = Project.create(tmp_path / "proj", classes=["pore"])
    first = np.full((8, 8), 10, np.uint8)
    second = np.full((8, 8), 200, np.uint8)
    a = project.add_image(first, "Grain.png")
    b = project.add_image(second, "grain.png")
    assert a.casefold() != b.casefold()
    paths = {str(project.image_path(i)).casefold() for i in (a, b)}
    assert len(paths) == 2
    np.testing.assert_array_equal(project.read_image(a), first)
    np.testing.assert_array_equal(project.read_image(b), second)
