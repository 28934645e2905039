"""Retraining on a project's few corrected images updates the weights after every batch, with
AdamW at a small rate and no warm-up (ultralytics' defaults would add up the gradients of 64
images before one update: a project of a few images would barely move the model)."""

from __future__ import annotations

from napari_microstructure.core.curate import train as train_mod
from napari_microstructure.core.progress import run_to_end


class _Model:
    """Stands for a YOLO model: records the training arguments, then stops as Cancel does."""

    def __init__(self) -> None:
        self.args: dict = {}

    def add_callback(self, *_args) -> None:
        pass

    def train(self, **args) -> None:
        self.args = args
        raise train_mod.TrainingCancelled


def _args(monkeypatch, tmp_path, **kwargs) -> dict:
    model = _Model()
    monkeypatch.setattr(train_mod, "_build_model", lambda *a: model)
    data = tmp_path / "data.yaml"
    data.write_text("path: .\nnames: {0: pore}\n")
    job = train_mod.TrainJob(data, tmp_path / "run", epochs=20, batch=4, **kwargs)
    assert run_to_end(job.run()).cancelled
    return model.args


def test_fine_tuning_updates_after_every_batch_with_adamw(monkeypatch, tmp_path):
    args = _args(monkeypatch, tmp_path)
    assert args["nbs"] == args["batch"] == 4  # no accumulation over 64 images
    assert (args["optimizer"], args["lr0"], args["warmup_epochs"]) == ("AdamW", 0.002, 0)


def test_the_caller_can_still_choose_other_settings(monkeypatch, tmp_path):
    args = _args(monkeypatch, tmp_path, optimizer="SGD", lr0=0.01, nbs=64)
    assert (args["optimizer"], args["lr0"], args["nbs"]) == ("SGD", 0.01, 64)
