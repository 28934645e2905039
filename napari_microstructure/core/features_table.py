"""A labels layer's features table as JSON, column by column with its type, and back.

The plugin's napari writer stores it in the label TIFF (:data:`.atomic.FEATURES_TAG`), so
the class, score and prompt box of every object reopen with the labels.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

#: what the JSON says it is (another program's use of the tag is not read)
FEATURES_FORMAT = "napari-microstructure features"


def features_json(table: Any) -> str | None:
    """A features table (DataFrame or dict of columns) as compact JSON, column by column with
    its dtype: NaN as null, numpy scalars as numbers, a categorical column as its values and
    categories; any other value JSON has no type for as text. None for a table of no columns.
    Its index is not kept (napari's is always 0, 1, ...; labels are keyed by ``index``)."""
    import pandas as pd

    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    if frame.shape[1] == 0:
        return None
    columns = []
    for i, name in enumerate(frame.columns):
        column = frame.iloc[:, i]
        entry: dict[str, Any] = {"name": _plain(name), "dtype": str(column.dtype)}
        if isinstance(column.dtype, pd.CategoricalDtype):
            entry["categories"] = [_plain(v) for v in column.dtype.categories]
            entry["ordered"] = bool(column.dtype.ordered)
            column = column.astype(object)
        # nullable (extension) columns as objects: their ints stay exact, pd.NA is missing
        native = isinstance(column.dtype, np.dtype)
        values = column.to_numpy() if native else column.to_numpy(dtype=object)
        if values.dtype.kind in "biu":
            entry["values"] = values.tolist()
        elif values.dtype.kind == "f":
            plain = values.tolist()
            for i in np.flatnonzero(np.isnan(values)).tolist():
                plain[i] = None
            entry["values"] = plain
        else:
            items = values.tolist()
            text = all(type(v) is str for v in items)  # class names: as they are, fast
            entry["values"] = items if text else [_plain(v) for v in items]
        columns.append(entry)
    payload = {"format": FEATURES_FORMAT, "version": 1, "rows": len(frame), "columns": columns}
    # infinities stay (as Python's JSON writes them); NaN is already null
    return json.dumps(payload, separators=(",", ":"))


def _plain(value: Any) -> Any:
    """A value as JSON holds it: None for missing values, numbers, text, lists."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    try:
        import pandas as pd

        if pd.isna(value):  # pd.NA, pd.NaT
            return None
    except (TypeError, ValueError):
        pass
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else str(value)


def features_from_json(text: str) -> Any:
    """The DataFrame :func:`features_json` wrote (dtypes restored where pandas can)."""
    import pandas as pd

    payload = json.loads(text)
    if payload.get("format") != FEATURES_FORMAT:
        raise ValueError("not a napari-microstructure features table")
    rows = int(payload["rows"])
    columns = [_column(entry, rows) for entry in payload["columns"]]
    if not columns:
        return pd.DataFrame(index=range(rows))
    return pd.concat(columns, axis=1)


def _column(entry: dict[str, Any], rows: int) -> Any:
    import pandas as pd

    values, dtype = entry["values"], str(entry["dtype"])
    if isinstance(entry["name"], list):  # a tuple name (of a column MultiIndex)
        entry = {**entry, "name": tuple(entry["name"])}
    if len(values) != rows:
        raise ValueError(f"column {entry['name']!r} has {len(values)} values for {rows} rows")
    if "categories" in entry:
        kind = pd.CategoricalDtype(entry["categories"], ordered=bool(entry.get("ordered")))
        return pd.Series(pd.Categorical(values, dtype=kind), name=entry["name"])
    column = pd.Series(values, dtype=object, name=entry["name"])
    if dtype.startswith("float"):
        column = column.where(column.notna(), np.nan)
    try:
        return column.astype(dtype)
    except (TypeError, ValueError):  # a dtype pandas cannot make from the values: as they are
        return column
