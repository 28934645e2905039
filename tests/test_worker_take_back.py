"""take_back on a worker whose run has ended and which Qt has already deleted."""

import threading

from napari.qt.threading import thread_worker
from qtpy.QtCore import QThreadPool

from napari_microstructure.widgets._worker import start_worker, take_back


def test_take_back_of_a_worker_that_already_ran_says_no(qtbot):
    ran = threading.Event()

    @thread_worker(start_thread=False)
    def _job():
        ran.set()
        return 1

    worker = _job()
    start_worker(worker)
    assert ran.wait(10)
    QThreadPool.globalInstance().waitForDone(10_000)  # Qt deletes the runnable after its run
    # its finished signals are still queued for this thread: the worker is not taken back
    assert take_back(worker) is False
    qtbot.wait(50)  # let the queued signals go
