"""Detections to and from YOLO label files, and YOLO datasets from annotated images."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def yolo_lines(
    boxes_xyxy: np.ndarray,
    class_ids: Sequence[int],
    shape: tuple[int, ...],
    confidence: Sequence[float] | None = None,
) -> list[str]:
    """``class cx cy w h [conf]`` lines, normalised to the image size."""
    h, w = float(shape[0]), float(shape[1])
    b = np.asarray(boxes_xyxy, dtype=float).reshape(-1, 4)
    lines = []
    for i, (x1, y1, x2, y2) in enumerate(b):
        vals = [(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]
        text = f"{int(class_ids[i])} " + " ".join(f"{v:.6f}" for v in vals)
        if confidence is not None:
            text += f" {float(confidence[i]):.4f}"
        lines.append(text)
    return lines


def write_yolo_txt(
    df: pd.DataFrame, shape: tuple[int, ...], path: str | Path, with_confidence: bool = True
) -> Path:
    """Write a detections table as a YOLO label file (one line per box)."""
    path = Path(path)
    conf = df["confidence"].to_numpy() if with_confidence else None
    lines = yolo_lines(
        df[["x1", "y1", "x2", "y2"]].to_numpy(), df["class_id"].to_numpy(), shape, conf
    )
    path.write_text("".join(line + "\n" for line in lines))
    return path


def write_yolo_dataset(
    samples: Iterable[tuple[np.ndarray, list[dict]]],
    root: str | Path,
    split: str,
    names: Sequence[str],
) -> int:
    """Write ``(image, objects)`` pairs as YOLO images (PNG) and labels under ``root``.

    ``objects`` are dicts with ``class_id`` and ``bbox`` (x1, y1, x2, y2 pixel coords), as the
    synthetic generator gives them. Also writes ``root/data.yaml``; returns the image count.
    """
    import cv2
    import yaml

    root = Path(root)
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    n = 0
    for i, (image, objects) in enumerate(samples):
        img = np.asarray(image)
        bgr = img[..., 2::-1] if img.ndim == 3 else img  # cv2 writes BGR; alpha dropped
        cv2.imwrite(str(root / "images" / split / f"{i:05d}.png"), np.ascontiguousarray(bgr))
        boxes = np.array([o["bbox"] for o in objects], dtype=float).reshape(-1, 4)
        lines = yolo_lines(boxes, [int(o["class_id"]) for o in objects], img.shape)
        (root / "labels" / split / f"{i:05d}.txt").write_text("".join(s + "\n" for s in lines))
        n += 1
    data = root / "data.yaml"
    splits = sorted(p.name for p in (root / "images").iterdir() if p.is_dir())
    doc = {"path": str(root.resolve()), **{s: f"images/{s}" for s in splits}}
    doc["names"] = {k: str(v) for k, v in enumerate(names)}  # quoted where YAML needs it
    data.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return n
