"""Model versions of an annotation project: stored weights, metrics, status, the active one."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes
from . import provenance as prov


class ModelVersions:
    """Mixin of :class:`~.project.Project`: the ``models`` part of its manifest."""

    root: Path
    _m: dict[str, Any]
    _lock: threading.RLock

    def _commit(self) -> None:  # provided by Project
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
        with self._lock:
            version = f"v{len(self._m['models']) + 1:03d}-{task}"
            rel = f"models/{version}/weights.pt"
            atomic_write_bytes(self.root / rel, Path(weights).read_bytes())
            sidecar = Path(weights).with_suffix(".json")  # model info (pixel size, classes)
            if sidecar.is_file():
                atomic_write_bytes(
                    self.root / f"models/{version}/weights.json", sidecar.read_bytes()
                )
            self._m["models"].append(
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
            self._commit()
            return version

    def register_model(self, path: str | Path, task: str = "detect", name: str = "") -> str:
        """Record an external model (e.g. the shipped demo detector) as accepted and active."""
        version = self.add_model(path, task, parent=None, data=name or str(path))
        self.accept_model(version)
        return version

    def accept_model(self, version: str) -> None:
        """Make a version the active model (of its task)."""
        self._set_status(version, "accepted")
        with self._lock:
            task = self._find(version)["task"]
            self._m["active_model"] = version
            self._m["active"] = {**(self._m.get("active") or {}), task: version}
            self._commit()

    def reject_model(self, version: str) -> None:
        """Mark a candidate rejected; its weights are deleted to save space."""
        self._set_status(version, "rejected")
        shutil.rmtree(self.model_path(version).parent, ignore_errors=True)

    def _set_status(self, version: str, status: str) -> None:
        with self._lock:
            for m in self._m["models"]:
                if m["version"] == version:
                    m["status"] = status
                    self._commit()
                    return
        raise KeyError(f"no model version {version!r}")
