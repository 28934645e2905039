"""The napari reader on files it cannot use: one message, no exception, the viewer usable."""

import numpy as np
import pytest
import tifffile
from napari.settings import get_settings
from napari.utils.notifications import notification_manager

PLUGIN = "napari-microstructure"


@pytest.fixture
def messages():
    """Messages napari's notification area receives during the test."""
    received: list[str] = []

    def keep(notification) -> None:
        received.append(notification.message)

    notification_manager.notification_ready.connect(keep)
    yield received
    notification_manager.notification_ready.disconnect(keep)


def _bad_file(tmp_path, kind: str):
    path = tmp_path / f"{kind}.tif"
    if kind == "garbage":
        path.write_bytes(b"hello, not a TIFF")
    elif kind == "complex":
        tifffile.imwrite(path, np.ones((16, 16), np.complex64))
    else:
        tifffile.imwrite(path, np.ones((16, 1), np.uint8))
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("garbage", "cannot be read as an image"),
        ("complex", "complex64"),
        ("narrow", "too narrow: 1 px wide"),
    ],
)
def test_unreadable_file_is_told_once_and_opens_nothing(
    make_napari_viewer, tmp_path, messages, kind, message
):
    viewer = make_napari_viewer()
    path = _bad_file(tmp_path, kind)
    assert viewer.open(str(path), plugin=PLUGIN) == []  # chosen in napari's reader dialog
    assert len(messages) == 1 and message in messages[0], messages
    assert len(viewer.layers) == 0
    settings = get_settings().plugins
    before = settings.extension2reader
    settings.extension2reader = {**before, "*.tif": PLUGIN}  # remembered as the .tif reader
    try:
        assert viewer.open(str(path), plugin=None) == []  # File > Open, as napari does it
    finally:
        settings.extension2reader = before
    assert len(messages) == 2 and message in messages[1], messages
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, np.ones((16, 16), np.uint8))
    assert len(viewer.open(str(good), plugin=PLUGIN)) == 1  # the viewer goes on working
