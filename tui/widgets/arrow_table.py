"""An Arrow table for the history screen that never measures a million rows cell by cell.

``ArrowBackend`` sizes its columns by rendering every value; for a run of 1,000,000
tranches that alone takes half a second. Here each column's width comes from Arrow's
own min/max and string lengths (milliseconds), computed in the loading worker.
Times show as ``2026-01-01 13:45:38`` (UTC, as everywhere in the app), formatted only
for the rows drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from textual_fastdatatable import ArrowBackend

# How the table shows a timestamp (UTC).
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
TIMESTAMP_W = len("2026-01-01 00:00:00")


def _width(column: pa.ChunkedArray) -> int:
    """The widest cell of ``column`` as the table shows it (at least 1)."""
    kind = column.type
    if len(column) == 0 or column.null_count == len(column):
        return 1
    if pa.types.is_timestamp(kind):
        return TIMESTAMP_W
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return int(pc.max(pc.utf8_length(column)).as_py() or 1)
    if pa.types.is_decimal(kind) or pa.types.is_integer(kind):
        bounds = pc.min_max(column)
        return max(len(str(bounds["min"].as_py())), len(str(bounds["max"].as_py())))
    # Anything else is rare here: measure a sample of values.
    return max(len(str(v)) for v in column.slice(0, 1000).to_pylist())


# How a column's values are shown, for a column with few distinct values (venue ids).
Format = Callable[[Any], str]


def _formatted_width(column: pa.ChunkedArray, show: Format) -> int:
    kind = column.type
    if pa.types.is_decimal(kind) or pa.types.is_integer(kind) or pa.types.is_timestamp(kind):
        # Formatted numbers are widest at an extreme: two values, not a million.
        if len(column) == 0 or column.null_count == len(column):
            return 1
        bounds = pc.min_max(column)
        values = [bounds["min"].as_py(), bounds["max"].as_py()]
    else:
        values = pc.unique(column).to_pylist()
    return max((len(show(v)) for v in values if v is not None), default=1)


def column_widths(table: pa.Table, formats: Mapping[str, Format] | None = None) -> list[int]:
    """Each column's widest cell as shown, header included."""
    formats = formats or {}
    return [
        max(
            len(name),
            _formatted_width(table[name], formats[name])
            if name in formats
            else _width(table[name]),
        )
        for name in table.column_names
    ]


class SizedArrowBackend(ArrowBackend):
    """``ArrowBackend`` with its column widths given up front, times shown as UTC text and
    ``formats`` applied to the named columns' values (only to the rows drawn)."""

    def __init__(
        self,
        data: pa.Table,
        widths: Sequence[int] | None = None,
        formats: Mapping[str, Format] | None = None,
    ) -> None:
        super().__init__(data)
        self._formats = [(formats or {}).get(name) for name in data.column_names]
        self._widths = list(widths) if widths is not None else column_widths(data, formats)

    @property
    def column_content_widths(self) -> list[int]:
        """The widths measured from Arrow's statistics (never cell by cell)."""
        return self._widths

    def get_row_at(self, index: int) -> Sequence[Any]:
        """The row's values as shown."""
        return [self._shown(c, v) for c, v in enumerate(super().get_row_at(index))]

    def get_cell_at(self, row_index: int, column_index: int) -> Any:
        """The cell's value as shown."""
        return self._shown(column_index, super().get_cell_at(row_index, column_index))

    def _shown(self, column: int, value: Any) -> Any:
        show = self._formats[column]
        if show is not None and value is not None:
            return show(value)
        return value.strftime(TIMESTAMP_FORMAT) if isinstance(value, datetime) else value
