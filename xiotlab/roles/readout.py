"""``Readout``: what an owner got from reading a thing, typed, tabular on demand."""

from __future__ import annotations

import datetime as dt
import enum
import html
from collections.abc import Iterable, Iterator

from ..protocol.values import Field, ReadoutError, ValueType, format_datetime

FRAME_COLUMNS = ("thing", "name", "value", "unit", "timestamp", "type", "categories", "qos")


def labels(flags: enum.Flag) -> list[str]:
    """The lower-case names of the members set in ``flags``: ``["momentary", "status"]``."""
    return [(member.name or "").lower() for member in flags]


def fields_frame(thing: str, fields: Iterable[Field], gaps: Iterable[dt.datetime] = ()):
    """A pandas DataFrame in long form, one row per field value (see FRAME_COLUMNS).

    For each time in ``gaps``, each field gets a row of type ``gap`` without a value.
    """
    import pandas as pd  # imported here: only those who ask for frames pay for pandas

    fields = list(fields)
    names = {f.name: f.unit for f in fields}
    breaks: list[tuple] = [
        (thing, name, None, unit, when, "gap", "", "") for when in gaps for name, unit in names.items()
    ]

    rows = [
        (
            thing,
            f.name,
            f.value,
            f.unit,
            f.timestamp,
            f.type.value,
            ",".join(labels(f.categories)),
            ",".join(labels(f.qos)),
        )
        for f in fields
    ]
    frame = pd.DataFrame.from_records(rows + breaks, columns=list(FRAME_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.sort_values("timestamp", kind="stable", ignore_index=True) if breaks else frame


class Readout:
    """The fields (and errors) a thing returned for one readout.

    ``readout["temperature"]`` is the latest value of that field, a
    :class:`~xiotlab.protocol.values.Field` with ``value``, ``unit``,
    ``timestamp``; iterate for every field; ``to_dataframe()`` for pandas.
    """

    def __init__(
        self, thing: str, fields: Iterable[Field], errors: Iterable[ReadoutError] = (), namespace: str = ""
    ) -> None:
        self.thing = thing
        self.fields = list(fields)
        self.errors = list(errors)
        self.namespace = namespace
        self._latest: dict[str, Field] = {}
        for field in self.fields:
            known = self._latest.get(field.name)
            if known is None or field.timestamp >= known.timestamp:
                self._latest[field.name] = field

    def __getitem__(self, name: str) -> Field:
        try:
            return self._latest[name]
        except KeyError:
            raise KeyError(f"{self.thing} reported no field {name!r}; it reported {sorted(self._latest)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._latest

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def names(self) -> list[str]:
        """The field names, in order of first appearance."""
        return list(dict.fromkeys(f.name for f in self.fields))

    def to_dataframe(self):
        """The fields as a pandas DataFrame in long form: thing, name, value, unit, timestamp, type, categories, qos."""
        return fields_frame(self.thing, self.fields)

    def __repr__(self) -> str:
        lines = [f"  {f.name} = {_shown(f)}  @ {format_datetime(f.timestamp)}" for f in self._latest.values()]
        lines += [f"  error: {e.message}" for e in self.errors]
        more = f" ({len(self.fields)} values)" if len(self.fields) > len(self._latest) else ""
        return f"<Readout of {self.thing}{more}\n" + "\n".join(lines) + ">"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(f.name)}</td><td style='text-align:right'>{html.escape(_shown(f))}</td>"
            f"<td>{html.escape(format_datetime(f.timestamp))}</td>"
            f"<td>{html.escape(', '.join(labels(f.categories)))}</td></tr>"
            for f in self.fields
        )
        errors = "".join(f"<tr><td colspan=4>⚠ {html.escape(e.message)}</td></tr>" for e in self.errors)
        return (
            f"<table><caption>Readout of {html.escape(self.thing)}</caption>"
            "<tr><th>field</th><th>value</th><th>timestamp</th><th>categories</th></tr>"
            f"{rows}{errors}</table>"
        )


def _shown(field: Field) -> str:
    text = field.lexical_value if field.type is ValueType.QUANTITY else str(field.value)
    return f"{text} {field.unit}" if field.unit else text
