"""Model versions of an annotation project: stored weights, metrics, status, the active one."""

from __future__ import annotations

import shutil
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes
from . import provenance as prov


class ModelVersions:
    """Mixin of :class:`~.project.Project`: the ``models`` part of its manifest."""

    root: Path
    _m: dict[str, Any]
    _lock: threading.RLock

    def _mutate(self) -> AbstractContextManager[dict[str, Any]]:  # provided by Project
        raise NotImplementedError

    @property
    def models(self) -> list[dict[str, Any]]:
        return [dict(m) for m in self._m["models"]]

    @property
    def active_model(self) -> dict[str, Any] | None:
        """The model version accepted last (of any task), or None."""
        return self._find(self._m.get("active_model"))

    def active_for(self, task: str) -> dict[str, Any] | None:
        """The accepted model in use for ``task`` ("detect" or "segment"), or None."""
        return self._find((self._m.get("active") or {}).get(task))

    def start_model(self, task: str) -> Path | None:
        """The model a retraining of ``task`` fine-tunes: the active one, else (detection) the
        demo detector; None: a new model (a first segmentation model: YOLOv8n-seg's layout)."""
        from ..detect import DEMO_MODEL

        active = self.active_for(task)
        if active:
            return self.model_path(active["version"])
        return DEMO_MODEL if task == "detect" and DEMO_MODEL.is_file() else None

    def add_trained(self, result: Any, metrics: dict[str, Any], base: str | Path | None) -> str:
        """Store a training's result (:class:`.train.TrainResult`) fine-tuned from ``base`` as
        a candidate with ``metrics``; its version.

        Its ``parent`` is the version name when ``base`` is a version of this project (it
        stays true when the project folder moves), else ``base``'s path (older records hold
        a path in every case).
        """
        return self.add_model(
            result.weights,
            result.task,
            metrics,
            parent=self.version_of(base) or (str(base) if base else None),
            data=str(Path(result.data).resolve()),  # not the working folder's relative path
            history=result.history,
        )

    def version_of(self, path: str | Path | None) -> str | None:
        """The version whose weights are the file ``path``, None when none of this project's
        is."""
        if not path:
            return None
        try:
            target = Path(path).resolve()
        except (OSError, RuntimeError):
            return None
        for m in self._m["models"]:
            if (self.root / m["weights"]).resolve() == target:
                return str(m["version"])
        return None

    def _find(self, version: str | None) -> dict[str, Any] | None:
        for m in self._m["models"]:
            if m["version"] == version:
                return dict(m)
        return None

    def model_path(self, version: str) -> Path:
        for m in self._m["models"]:
            if m["version"] == version:
                return self.root / m["weights"]
        raise KeyError(f"no model version {version!r}")

    def add_model(
        self,
        weights: str | Path,
        task: str,
        metrics: dict[str, float] | None = None,
        parent: str | None = None,
        data: str | None = None,
        history: list[dict[str, float]] | None = None,
    ) -> str:
        """Store a trained model as a new ``candidate`` version and return the version name."""
        with self._mutate() as m:
            version = f"v{len(m['models']) + 1:03d}-{task}"
            rel = f"models/{version}/weights.pt"
            atomic_write_bytes(self.root / rel, Path(weights).read_bytes())
            sidecar = Path(weights).with_suffix(".json")  # model info (pixel size, classes)
            if sidecar.is_file():
                atomic_write_bytes(
                    self.root / f"models/{version}/weights.json", sidecar.read_bytes()
                )
            m["models"].append(
                {
                    "version": version,
                    "task": task,
                    "weights": rel,
                    "created": prov.now(),
                    "parent": parent,
                    "data": data,
                    "metrics": dict(metrics or {}),
                    "history": list(history or []),
                    "status": "candidate",
                }
            )
        return version

    def register_model(self, path: str | Path, task: str = "detect", name: str = "") -> str:
        """Record an external model (e.g. the shipped demo detector) as accepted and active."""
        version = self.add_model(path, task, parent=None, data=name or str(path))
        self.accept_model(version)
        return version

    def accept_model(self, version: str) -> None:
        """Make a version the active model (of its task).

        Raises
        ------
        ValueError : the version was rejected (its weights are deleted).
        """
        with self._mutate() as m:
            rec = self._entry(m, version)
            if rec["status"] == "rejected":
                raise ValueError(f"{version} was rejected and its weights deleted; retrain it")
            rec["status"] = "accepted"
            m["active_model"] = version
            m["active"] = {**(m.get("active") or {}), rec["task"]: version}

    def reject_model(self, version: str) -> None:
        """Mark a version rejected; its weights are deleted to save space.

        Raises
        ------
        ValueError : the version is the active model of its task (accept another first).
        """
        with self._mutate() as m:
            rec = self._entry(m, version)
            if (m.get("active") or {}).get(rec["task"]) == version or (
                m.get("active_model") == version
            ):
                raise ValueError(
                    f"{version} is the active {rec['task']} model; accept another version "
                    "before rejecting it"
                )
            rec["status"] = "rejected"
        shutil.rmtree(self.model_path(version).parent, ignore_errors=True)

    @staticmethod
    def _entry(m: dict[str, Any], version: str) -> dict[str, Any]:
        for rec in m["models"]:
            if rec["version"] == version:
                return rec
        raise KeyError(f"no model version {version!r}")
