"""``Readout``: what an owner got from reading a thing, typed, tabular on demand.

A concentrator's readout (``owner.read(jid, nodes=[...])``) mixes the values of
several nodes: each :class:`~xiotlab.protocol.values.Field` says which node
reported it (``field.node``, a :class:`~xiotlab.protocol.values.NodeRef`, or
``None`` for the concentrator's own fields), tables get ``node`` and ``source``
columns, and :meth:`Readout.node` gives one node's part as a readout of its own.
"""

from __future__ import annotations

import datetime as dt
import enum
import html
from collections.abc import Iterable, Iterator

from ..protocol.values import Field, NodeRef, ReadoutError, ValueType, format_datetime

FRAME_COLUMNS = ("thing", "name", "value", "unit", "timestamp", "type", "categories", "qos")
"""The columns of a frame whose values came from no concentrator node."""

NODE_COLUMNS = ("node", "source")
"""Added after ``thing`` when some value came from a concentrator node (``partition`` too when one has one)."""


def labels(flags: enum.Flag) -> list[str]:
    """The lower-case names of the members set in ``flags``: ``["momentary", "status"]``."""
    return [(member.name or "").lower() for member in flags]


def node_label(node: NodeRef | None) -> str:
    """How a node is named to people: its id, then its source and partition if it has them."""
    if node is None:
        return ""
    scope = "/".join(part for part in (node.source, node.partition) if part)
    return f"{node.id} ({scope})" if scope else node.id


def as_node(node: NodeRef | str) -> NodeRef:
    """A node reference for ``node``: a :class:`NodeRef` as is, a str as the node id (any source)."""
    if isinstance(node, NodeRef):
        return node
    if isinstance(node, str):
        return NodeRef(node)
    raise TypeError(f"a node is a node id (str) or a NodeRef, not {node!r}")


def as_nodes(nodes: NodeRef | str | Iterable[NodeRef | str] | None) -> tuple[NodeRef, ...]:
    """Node references for ``nodes``: None none, one id or NodeRef, or an iterable of them (duplicates dropped)."""
    if nodes is None:
        return ()
    if isinstance(nodes, (str, NodeRef)):
        return (as_node(nodes),)
    return tuple(dict.fromkeys(as_node(node) for node in nodes))


def fields_frame(thing: str, fields: Iterable[Field], gaps: Iterable[dt.datetime] = ()):
    """A pandas DataFrame in long form, one row per field value (see FRAME_COLUMNS).

    When some value came from a concentrator node, ``node`` (its id) and ``source`` columns
    follow ``thing`` (and ``partition`` when some node has one); the concentrator's own
    values have None there. For each time in ``gaps``, each field (of each node) gets a
    row of type ``gap`` without a value.
    """
    import pandas as pd  # imported here: only those who ask for frames pay for pandas

    fields = list(fields)
    refs = {f.node for f in fields if f.node is not None}
    node_columns: tuple[str, ...] = ()
    if refs:
        node_columns = NODE_COLUMNS + (("partition",) if any(ref.partition for ref in refs) else ())

    def scope(node: NodeRef | None) -> tuple:
        if not node_columns:
            return ()
        parts = (None, None, None) if node is None else (node.id, node.source, node.partition)
        return parts[: len(node_columns)]

    series = {(f.node, f.name): f.unit for f in fields}
    breaks: list[tuple] = [
        (thing, *scope(node), name, None, unit, when, "gap", "", "")
        for when in gaps
        for (node, name), unit in series.items()
    ]
    rows = [
        (
            thing,
            *scope(f.node),
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
    columns = [FRAME_COLUMNS[0], *node_columns, *FRAME_COLUMNS[1:]]
    frame = pd.DataFrame.from_records(rows + breaks, columns=columns)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.sort_values("timestamp", kind="stable", ignore_index=True) if breaks else frame


class Readout:
    """The fields (and errors) a thing returned for one readout.

    ``readout["temperature"]`` is the latest value of that field, a
    :class:`~xiotlab.protocol.values.Field` with ``value``, ``unit``,
    ``timestamp``; iterate for every field; ``to_dataframe()`` for pandas.

    From a concentrator, each field and error says its node (``field.node``).
    ``readout["temperature"]`` is then still the newest ``temperature`` of all,
    whichever node reported it; ``readout.node("kitchen")["temperature"]`` is
    that node's. ``readout.nodes`` lists the nodes that answered.
    """

    def __init__(
        self,
        thing: str,
        fields: Iterable[Field],
        errors: Iterable[ReadoutError] = (),
        namespace: str = "",
        *,
        within: NodeRef | None = None,
    ) -> None:
        self.thing = thing
        self.fields = list(fields)
        self.errors = list(errors)
        self.namespace = namespace
        self.within = within  # the node this readout was cut down to (see `node`), else None
        self._latest: dict[str, Field] = {}
        self._latest_by_node: dict[tuple[NodeRef | None, str], Field] = {}
        for field in self.fields:
            if _newer(field, self._latest.get(field.name)):
                self._latest[field.name] = field
            if _newer(field, self._latest_by_node.get((field.node, field.name))):
                self._latest_by_node[(field.node, field.name)] = field

    def __getitem__(self, name: str) -> Field:
        try:
            return self._latest[name]
        except KeyError:
            raise KeyError(f"{self._whose} reported no field {name!r}; it reported {sorted(self._latest)}") from None

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

    @property
    def nodes(self) -> list[NodeRef]:
        """The concentrator nodes that reported fields or errors, in order of first appearance."""
        found = [f.node for f in self.fields] + [e.node for e in self.errors]
        return [node for node in dict.fromkeys(found) if node is not None]

    def node(self, node: NodeRef | str) -> Readout:
        """The part of this readout that node ``node`` reported: its fields and errors, as a Readout.

        ``node``: a node id (a node of that id in any source) or a :class:`NodeRef`.
        KeyError if that node reported nothing.
        """
        ref = as_node(node)
        fields = [f for f in self.fields if ref.names(f.node)]
        errors = [e for e in self.errors if ref.names(e.node)]
        if not fields and not errors:
            known = ", ".join(node_label(n) for n in self.nodes) or "none"
            raise KeyError(f"node {node_label(ref)!r} of {self.thing} reported nothing here; nodes that did: {known}")
        found = {f.node for f in fields} | {e.node for e in errors}
        return Readout(self.thing, fields, errors, self.namespace, within=found.pop() if len(found) == 1 else ref)

    def to_dataframe(self):
        """The fields as a pandas DataFrame in long form: thing, name, value, unit, timestamp, type, categories, qos.

        When values came from concentrator nodes, ``node`` and ``source`` columns follow ``thing``.
        """
        return fields_frame(self.thing, self.fields)

    @property
    def _whose(self) -> str:
        return self.thing if self.within is None else f"node {node_label(self.within)} of {self.thing}"

    def _grouped(self) -> bool:
        """Whether to show values by node: some came from nodes, and this is not one node's part."""
        return self.within is None and bool(self.nodes)

    def __repr__(self) -> str:
        more = f" ({len(self.fields)} values)" if len(self.fields) > len(self._latest_by_node) else ""
        if not self._grouped():
            lines = [f"  {f.name} = {_shown(f)}  @ {format_datetime(f.timestamp)}" for f in self._latest.values()]
            lines += [f"  error: {e.message}" for e in self.errors]
            return f"<Readout of {self._whose}{more}\n" + "\n".join(lines) + ">"
        lines = []
        for node in [None, *self.nodes]:
            fields = [f for (n, _), f in self._latest_by_node.items() if n == node]
            errors = [e for e in self.errors if e.node == node]
            if not fields and not errors:
                continue
            lines.append(f"  [{node_label(node) or 'the concentrator itself'}]")
            lines += [f"    {f.name} = {_shown(f)}  @ {format_datetime(f.timestamp)}" for f in fields]
            lines += [f"    error: {e.message}" for e in errors]
        return f"<Readout of {self.thing}, {len(self.nodes)} nodes{more}\n" + "\n".join(lines) + ">"

    def _repr_html_(self) -> str:
        grouped = self._grouped()
        fields = self.fields
        if grouped:  # the concentrator's own values first, then each node's, nodes in order of appearance
            order = {node: rank for rank, node in enumerate([None, *self.nodes])}
            fields = sorted(fields, key=lambda f: order[f.node])

        def node_cell(node: NodeRef | None) -> str:
            return f"<td>{html.escape(node_label(node))}</td>" if grouped else ""

        rows = "".join(
            f"<tr>{node_cell(f.node)}<td>{html.escape(f.name)}</td>"
            f"<td style='text-align:right'>{html.escape(_shown(f))}</td>"
            f"<td>{html.escape(format_datetime(f.timestamp))}</td>"
            f"<td>{html.escape(', '.join(labels(f.categories)))}</td></tr>"
            for f in fields
        )
        errors = "".join(
            f"<tr>{node_cell(e.node)}<td colspan=4>⚠ {html.escape(e.message)}</td></tr>" for e in self.errors
        )
        header = "<th>field</th><th>value</th><th>timestamp</th><th>categories</th>"
        if grouped:
            header = "<th>node</th>" + header
        caption = html.escape(f"Readout of {self._whose}")
        return f"<table><caption>{caption}</caption><tr>{header}</tr>{rows}{errors}</table>"


def _newer(field: Field, known: Field | None) -> bool:
    return known is None or field.timestamp >= known.timestamp


def _shown(field: Field) -> str:
    text = field.lexical_value if field.type is ValueType.QUANTITY else str(field.value)
    return f"{text} {field.unit}" if field.unit else text
