"""``NodeTree``: a concentrator's nodes as an expandable tree, live values beside them.

>>> NodeTree(alice, "gateway")        # doctest: +SKIP

Each row is a node: a toggle (``▸``/``▾``) when it has children, its name (a
button that selects it) and its newest values. Selecting a node offers
*Read* (its readout as a table), *Plot* (a :class:`~.live_plot.LivePlot` of
one of its fields, or all) and *Control* (a :class:`~.control_panel.ControlPanel`
of its parameters), shown under the tree, one at a time.

Staying cheap with many nodes: only the nodes shown (the roots, and the
children of expanded nodes; at most :data:`MAX_ROWS` rows) are watched, by *one* event subscription naming
them all (at most :data:`MAX_WATCHED`), started with one readout of the same
nodes so values show at once. Expanding or collapsing a node replaces that
subscription. The owner's side has no API for the concentrator's
``nodeAdded``/``nodeRemoved`` events yet, so the tree re-reads the node list
when a node is expanded and when *Refresh* is clicked (:meth:`refresh`).

Threads, as in every widget here (:mod:`.live`): clicks change state and
start network operations without waiting; answers arrive on the network
thread and only change state; the UI thread draws, creating the readout,
plot or panel shown. :meth:`close` ends the subscriptions and the widgets
it made; it starts no thread of its own.
"""

from __future__ import annotations

import concurrent.futures
import functools
import html
import threading
from collections.abc import Coroutine, Iterable
from typing import TYPE_CHECKING, Any

import ipywidgets

from ...errors import XiotlabError
from ...protocol.concentrator import NodeInfo
from ...protocol.values import Field, NodeRef, ValueType
from ...roles.browsing import Nodes
from ...roles.readout import Readout, node_label
from ...roles.stream import Stream
from .control_panel import ControlPanel
from .live import DEFAULT_RATE, Redraws, error_area, guarded, submit
from .live_plot import DEFAULT_WINDOW, LivePlot

if TYPE_CHECKING:
    from ...roles.owner import Owner

__all__ = ["NodeTree", "NodeRow", "MAX_WATCHED"]

MAX_WATCHED = 200
"""The most nodes the live values follow (the first shown); more would make every event huge."""
MAX_ROWS = 500
"""The most rows drawn (each is a few widgets in the browser); past them a line says how many more."""
SHOWN_VALUES = 4
"""How many of a node's values its row shows (the rest: "…")."""
LIVE_BUFFER = 100
"""The live stream's own buffer: the tree takes values as they arrive, it only needs a few."""
PLOT_BUFFER = 1000
ALL_FIELDS = "(all fields)"
_RED = "#c62828"
_INDENT_EM = 1.6


class NodeRow:
    """One node's row: ``toggle`` (expand), ``name`` (select) and ``values`` widgets, in ``box``."""

    def __init__(self, info: NodeInfo) -> None:
        self.info = info
        self.toggle = ipywidgets.Button(description="", layout=ipywidgets.Layout(width="2.4em"))
        self.name = ipywidgets.Button(layout=ipywidgets.Layout(width="auto", min_width="8em"))
        self.values = ipywidgets.HTML("")
        self.box = ipywidgets.HBox([self.toggle, self.name, self.values])

    @property
    def node(self) -> NodeRef:
        return self.info.node

    def draw(self, info: NodeInfo, depth: int, *, expandable: bool, expanded: bool, selected: bool, values: str):
        """Bring the widgets up to the node's state (UI thread)."""
        self.info = info
        self.toggle.description = ("▾" if expanded else "▸") if expandable else ""
        self.toggle.disabled = not expandable
        self.toggle.tooltip = ("Collapse" if expanded else "Expand") if expandable else ""
        self.name.description = info.display_name or info.id
        self.name.tooltip = _describe(info)
        self.name.button_style = "info" if selected else ""
        self.values.value = values
        self.box.layout.margin = f"0 0 0 {depth * _INDENT_EM:g}em"

    def close(self) -> None:
        for widget in (self.box, self.toggle, self.name, self.values):
            widget.close()

    def __repr__(self) -> str:
        return f"<NodeRow {node_label(self.node)}: {self.values.value!r}>"


class NodeTree(ipywidgets.VBox):
    """The nodes of concentrator ``jid``, as ``owner`` sees them: expand, watch, read, plot, control.

    Parameters
    ----------
    owner:
        An :class:`~xiotlab.Owner` befriended with the concentrator.
    jid:
        The concentrator (a bare name means one on the owner's domain).
    nodes:
        Its :class:`~xiotlab.roles.browsing.Nodes`; without them the tree asks with
        ``owner.nodes(jid)``, blocking (a thing that is no concentrator raises then).
    live:
        Follow the values of the nodes shown (one subscription; see the module's notes).
    window:
        The plots' window (as for :class:`~.live_plot.LivePlot`).

    Attributes
    ----------
    rows:
        The :class:`NodeRow` of each node shown (``rows[ref].toggle``, ``.name``, ``.values``).
    read_button, plot_button, control_button, field, refresh_button:
        What a selected node offers: *Read*, *Plot* (of the field chosen in the ``field``
        Dropdown; "(all fields)" plots every numeric one) and *Control*; and *Refresh*.
    errors:
        Where failures of redraws, clicks and answers show their tracebacks.

    >>> tree = NodeTree(alice, "gateway")           # doctest: +SKIP
    >>> tree.expand("kitchen"); tree.select("kitchen/fridge")
    >>> tree.read().result()                        # the readout table, shown under the tree
    >>> tree.plot("temperature").result()           # a LivePlot of the fridge's temperature
    >>> tree.control().result()                     # a ControlPanel of the fridge
    >>> tree.values[tree.selected.node]             # {'temperature': Field(...)}: the newest values
    """

    def __init__(
        self,
        owner: Owner,
        jid: str,
        *,
        nodes: Nodes | None = None,
        live: bool = True,
        window: float | str = DEFAULT_WINDOW,
        rate: float = DEFAULT_RATE,
    ) -> None:
        nodes = owner.nodes(jid) if nodes is None else nodes  # before any widget: a refusal leaves nothing
        super().__init__()
        self.owner, self.jid = owner, owner.resolve(jid)
        self.live, self.window = live, window
        self.errors = error_area()
        self._lock = threading.RLock()
        self._nodes = nodes
        self._index = _Index(nodes)
        self._expanded: set[NodeRef] = set()
        self._selected: NodeRef | None = None
        self._values: dict[NodeRef, dict[str, Field]] = {}
        self._message = ""
        self._closed = False
        # The live values: one stream for the nodes shown; `_generation` drops answers of replaced ones.
        self._stream: Stream | None = None
        self._watched: tuple[NodeRef, ...] = ()
        self._generation = 0
        self._feed = guarded(self.errors, self._on_values)
        # What the detail area shows (made on the UI thread) and what waits to be shown there.
        self._detail: ipywidgets.Widget | None = None
        self._detail_stream: Stream | None = None
        self._waiting: tuple[str, Any, concurrent.futures.Future] | None = None
        self._rows: dict[NodeRef, NodeRow] = {}
        self._build()
        self._redraws = Redraws(self._render, rate=rate, errors=self.errors)
        self._redraws.now()
        self._watch()

    def _build(self) -> None:
        self._title = ipywidgets.HTML()
        self.refresh_button = ipywidgets.Button(
            description="Refresh", icon="refresh", tooltip="List the concentrator's nodes again"
        )
        self.refresh_button.on_click(guarded(self.errors, lambda _: self.refresh()))
        self._status = ipywidgets.HTML()
        self._tree = ipywidgets.VBox()
        self._more = ipywidgets.HTML()
        self._chosen = ipywidgets.HTML()
        self.read_button = ipywidgets.Button(description="Read", icon="table", tooltip="Read the node now")
        self.field = ipywidgets.Dropdown(
            options=[ALL_FIELDS], value=ALL_FIELDS, layout=ipywidgets.Layout(width="14em"), tooltip="What to plot"
        )
        self.plot_button = ipywidgets.Button(description="Plot", icon="line-chart", tooltip="Plot the field live")
        self.control_button = ipywidgets.Button(
            description="Control", icon="sliders", tooltip="The node's control parameters"
        )
        self.read_button.on_click(guarded(self.errors, lambda _: self.read()))
        self.plot_button.on_click(guarded(self.errors, lambda _: self.plot()))
        self.control_button.on_click(guarded(self.errors, lambda _: self.control()))
        self._actions = ipywidgets.HBox(
            [self._chosen, self.read_button, self.field, self.plot_button, self.control_button]
        )
        self._message_line = ipywidgets.HTML()
        self._detail_box = ipywidgets.VBox()
        self._header = ipywidgets.HBox([self._title, self.refresh_button, self._status])
        self.children = [self._header, self._tree, self._actions, self._message_line, self._detail_box, self.errors]

    # --- public ----------------------------------------------------------------------

    @property
    def nodes(self) -> Nodes:
        """The concentrator's nodes, as last listed."""
        return self._nodes

    @property
    def visible(self) -> list[tuple[int, NodeInfo]]:
        """The nodes shown, with their depth: the roots, and below each expanded node its children."""
        with self._lock:
            return self._visible()

    @property
    def rows(self) -> dict[NodeRef, NodeRow]:
        """The rows by node, as last drawn: ``rows[ref].name.click()`` selects that node."""
        with self._lock:
            return dict(self._rows)

    @property
    def selected(self) -> NodeInfo | None:
        """The node selected, or None."""
        with self._lock:
            return None if self._selected is None else self._index.info.get(self._selected)

    @property
    def values(self) -> dict[NodeRef, dict[str, Field]]:
        """The newest value of each field of each node shown, by node and field name."""
        with self._lock:
            return {node: dict(fields) for node, fields in self._values.items()}

    @property
    def detail(self) -> ipywidgets.Widget | None:
        """What shows under the tree: the readout (an ``HTML``), a ``LivePlot`` or a ``ControlPanel``."""
        return self._detail

    @property
    def stream(self) -> Stream | None:
        """The subscription that brings the live values of the nodes shown (None when none is needed)."""
        return self._stream

    @property
    def watched(self) -> tuple[NodeRef, ...]:
        """The nodes the live values follow."""
        return self._watched

    @property
    def message(self) -> str:
        """The last failure not shown elsewhere ("" when none)."""
        return self._message

    def expand(self, node: str | NodeRef | NodeInfo) -> concurrent.futures.Future:
        """Show ``node``'s children; the node list is read again (new children show).

        Returns the Future of that refresh: ``tree.expand("kitchen").result()`` waits for it.
        """
        info = self._nodes.get(node)
        with self._lock:
            self._expanded.add(info.node)
        self._redraws.request()
        return self.refresh()

    def collapse(self, node: str | NodeRef | NodeInfo) -> None:
        """Hide ``node``'s children (and stop watching them)."""
        info = self._nodes.get(node)
        with self._lock:
            self._expanded.discard(info.node)
        self._redraws.request()
        self._watch()

    def select(self, node: str | NodeRef | NodeInfo | None) -> NodeInfo | None:
        """Select ``node`` (None: nothing); its parents are expanded so that it shows."""
        info = None if node is None else self._nodes.get(node)
        with self._lock:
            self._selected = None if info is None else info.node
            hidden = False
            parent = None if info is None else self._nodes.parent(info)
            while parent is not None and parent.node not in self._expanded:
                self._expanded.add(parent.node)
                hidden = True
                parent = self._nodes.parent(parent)
        self._redraws.request()
        if hidden:
            self._watch()
        return info

    def refresh(self) -> concurrent.futures.Future:
        """List the concentrator's nodes again, without waiting; a Future of the new :class:`Nodes`.

        Nodes gone are dropped from the tree (and from what is watched), new ones show. When
        listing fails, the Future's result is None and the message line says why.
        """
        return submit(self.errors, self._arefresh())

    def read(self) -> concurrent.futures.Future:
        """Read the selected node now and show its readout; a Future of the ``HTML`` shown."""
        node = self._need_selected("read")
        return self._act("read", self.owner.aread(self.jid, nodes=[node]), node)

    def plot(self, field: str | None = None) -> concurrent.futures.Future:
        """A live plot of ``field`` (default: the one chosen beside the button) of the selected node.

        Returns a Future of the :class:`~.live_plot.LivePlot` shown; ``None`` or "(all fields)":
        every numeric field of the node.
        """
        node = self._need_selected("plot")
        field = self.field.value if field is None else field
        fields = None if field in (None, ALL_FIELDS) else [field]
        subscription = self.owner.asubscribe(self.jid, fields, nodes=[node], buffer=PLOT_BUFFER)
        return self._act("plot", subscription, node, fields)

    def control(self) -> concurrent.futures.Future:
        """A control panel of the selected node; a Future of the :class:`~.control_panel.ControlPanel` shown."""
        node = self._need_selected("control")
        return self._act("control", self.owner.acontrol_form(self.jid, node=node), node)

    def close(self) -> None:
        """Stop the live values and close every widget of the tree (its plot's stream too). Safe twice."""
        redraws = getattr(self, "_redraws", None)
        if redraws is not None:  # also called by ipywidgets' __del__, maybe on a half-made tree
            redraws.close()
            with self._lock:  # a draw under way finishes first
                self._closed = True
                stream, self._stream, self._watched = self._stream, None, ()
                waiting, self._waiting = self._waiting, None
                rows, self._rows = list(self._rows.values()), {}
                self._close_detail()
            if stream is not None:
                stream.unobserve(self._feed)
                stream.close()
            if waiting is not None:
                _drop(waiting[1])
                waiting[2].cancel()
            for row in rows:
                row.close()
            for widget in (
                self._title, self.refresh_button, self._status, self._header, self._tree, self._more, self._chosen,
                self.read_button, self.field, self.plot_button, self.control_button, self._actions,
                self._message_line, self._detail_box, self.errors,
            ):  # fmt: skip
                widget.close()
        super().close()

    def __repr__(self) -> str:
        with self._lock:
            selected = node_label(self._selected) if self._selected else "none"
            shown = len(self._visible())
        state = "closed" if self._closed else f"watching {len(self._watched)}" if self.live else "not live"
        return f"<NodeTree {self.jid}: {len(self._nodes)} nodes, {shown} shown, {state}, selected {selected}>"

    # --- clicks (any thread) -----------------------------------------------------------

    def _need_selected(self, what: str) -> NodeRef:
        with self._lock:
            if self._selected is None:
                raise ValueError(f"Select a node to {what} first: click its name, or tree.select(node).")
            return self._selected

    def _on_toggle(self, node: NodeRef, _button=None) -> None:
        with self._lock:
            expanded = node in self._expanded
        if expanded:
            self.collapse(node)
        else:
            self.expand(node)

    def _on_name(self, node: NodeRef, _button=None) -> None:
        with self._lock:
            again = self._selected == node
        self.select(None if again else node)

    def _act(
        self, kind: str, coro: Coroutine[Any, Any, Any], node: NodeRef, fields: list[str] | None = None
    ) -> concurrent.futures.Future:
        """Start a network operation; its result waits to be shown under the tree at the next draw."""
        shown: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            self._message = ""
        self._redraws.request()

        async def run() -> None:
            try:
                result = await coro
            except XiotlabError as error:
                with self._lock:
                    self._message = f"✗ {kind} {node_label(node)}: {error}"
                self._redraws.request()
                shown.set_exception(error)
                return
            except BaseException as error:
                shown.set_exception(error)
                raise  # unexpected: its traceback goes to the errors area
            with self._lock:
                if self._closed:
                    _drop(result)
                    shown.cancel()
                    return
                if self._waiting is not None:
                    _drop(self._waiting[1])
                    self._waiting[2].cancel()
                self._waiting = (kind, (node, result, fields), shown)
            if isinstance(result, Readout):
                self._on_values(list(result))
            self._redraws.request()

        submit(self.errors, run())
        return shown

    # --- answers (network thread) ------------------------------------------------------

    async def _arefresh(self) -> Nodes | None:
        try:
            nodes = await self.owner.anodes(self.jid)
        except XiotlabError as error:
            with self._lock:
                self._message = f"✗ refresh: {error}"
            self._redraws.request()
            return None
        with self._lock:
            self._nodes, self._index = nodes, _Index(nodes)
            known = set(self._index.info)
            self._expanded &= known
            if self._selected is not None and self._selected not in known:
                self._message = f"{node_label(self._selected)} is gone."
                self._selected = None
            for gone in set(self._values) - known:
                del self._values[gone]
        self._redraws.request()
        self._watch()
        return nodes

    def _watch(self) -> None:
        """Follow the readable nodes shown, with one subscription (replacing the last, if they changed)."""
        if not self.live:
            return
        with self._lock:
            if self._closed:
                return
            wanted = watched_nodes(info for _, info in self._visible())
            if wanted == self._watched:
                return
            self._generation += 1
            generation = self._generation
            old, self._stream, self._watched = self._stream, None, wanted
        if old is not None:
            old.unobserve(self._feed)
            old.close()
        if wanted:
            submit(self.errors, self._awatch(generation, wanted))
        self._redraws.request()

    async def _awatch(self, generation: int, nodes: tuple[NodeRef, ...]) -> None:
        """Subscribe to ``nodes``, then read them once: values show before they first change."""
        try:
            stream = await self.owner.asubscribe(self.jid, nodes=nodes, buffer=LIVE_BUFFER)
        except XiotlabError as error:
            with self._lock:
                self._message = f"✗ live values: {error}"
            self._redraws.request()
            return
        with self._lock:
            current = generation == self._generation and not self._closed
            if current:
                self._stream = stream
        if not current:
            stream.close()  # replaced (or closed) while it was being made
            return
        stream.on_data(self._feed)
        try:
            readout = await self.owner.aread(self.jid, nodes=nodes)
        except XiotlabError as error:
            with self._lock:
                self._message = f"✗ reading the nodes shown: {error}"
        else:
            self._on_values(list(readout))
        self._redraws.request()

    def _on_values(self, batch: list[Field]) -> None:
        with self._lock:
            for field in batch:
                if field.node is None:
                    continue
                known = self._values.setdefault(self._index.ref(field.node), {})
                old = known.get(field.name)
                if old is None or field.timestamp >= old.timestamp:
                    known[field.name] = field
        self._redraws.request()

    # --- drawing (UI thread) -----------------------------------------------------------

    def _visible(self) -> list[tuple[int, NodeInfo]]:
        """Depth first from the roots, into expanded nodes only (lock held)."""
        shown: list[tuple[int, NodeInfo]] = []
        seen: set[NodeRef] = set()
        stack = [(0, info) for info in reversed(self._index.roots)]
        while stack:
            depth, info = stack.pop()
            if info.node in seen:
                continue
            seen.add(info.node)
            shown.append((depth, info))
            if info.node in self._expanded:
                stack.extend((depth + 1, child) for child in reversed(self._index.children.get(info.node, [])))
        return shown

    def _render(self) -> None:
        with self._lock:
            if self._closed:
                return
            visible = self._visible()
            rows: dict[NodeRef, NodeRow] = {}
            for depth, info in visible[:MAX_ROWS]:
                row = self._rows.pop(info.node, None) or self._row(info)
                row.draw(
                    info,
                    depth,
                    expandable=info.has_children or info.node in self._index.children,
                    expanded=info.node in self._expanded,
                    selected=info.node == self._selected,
                    values=_values_text(self._values_of(info.node)),
                )
                rows[info.node] = row
            for gone in self._rows.values():
                gone.close()
            self._rows = rows
            boxes: list[ipywidgets.Widget] = [row.box for row in rows.values()]
            if not boxes:
                boxes = [self._more]
                self._more.value = "<i>This concentrator has no nodes.</i>"
            elif len(visible) > MAX_ROWS:
                boxes.append(self._more)
                self._more.value = f"<i>… {len(visible) - MAX_ROWS} more nodes not drawn: collapse some.</i>"
            if list(self._tree.children) != boxes:
                self._tree.children = boxes
            self._draw_header(len(visible))
            self._draw_actions()
            self._message_line.value = (
                f"<span style='color:{_RED}'>{html.escape(self._message)}</span>" if self._message else ""
            )
            waiting, self._waiting = self._waiting, None
            if waiting is not None:
                self._show(*waiting)

    def _row(self, info: NodeInfo) -> NodeRow:
        row = NodeRow(info)
        row.toggle.on_click(guarded(self.errors, functools.partial(self._on_toggle, info.node)))
        row.name.on_click(guarded(self.errors, functools.partial(self._on_name, info.node)))
        return row

    def _values_of(self, node: NodeRef) -> dict[str, Field]:
        return self._values.get(node, {})

    def _draw_header(self, shown: int) -> None:
        self._title.value = f"<b>Nodes of {html.escape(self.jid)}</b>: {len(self._nodes)}, {shown} shown"
        if not self.live:
            status = "values: <i>not live</i> (Read a node)"
        elif self._watched and self._stream is not None and not self._stream.ended:
            status = f"live values of {len(self._watched)} node{'s' * (len(self._watched) != 1)}"
        elif self._watched:
            status = "starting live values…"
        else:
            status = "no readable node shown"
        self._status.value = f"<small>{status}</small>"

    def _draw_actions(self) -> None:
        info = None if self._selected is None else self._index.info.get(self._selected)
        if info is None:
            self._chosen.value = "<i>select a node</i>"
        else:
            self._chosen.value = f"<b>{html.escape(info.display_name or info.id)}</b> "
            self._chosen.value += f"<code>{html.escape(node_label(info.node))}</code>"
        readable = info is not None and info.is_readable
        self.read_button.disabled = self.plot_button.disabled = self.field.disabled = not readable
        self.control_button.disabled = info is None or not info.is_controllable
        names = [ALL_FIELDS]
        if info is not None:
            names += [name for name, field in self._values_of(info.node).items() if _numeric(field)]
        if tuple(self.field.options) != tuple(names):
            keep = self.field.value if self.field.value in names else ALL_FIELDS
            self.field.options = names
            self.field.value = keep

    def _show(self, kind: str, what: tuple[NodeRef, Any, list[str] | None], shown: concurrent.futures.Future) -> None:
        """Put the answer of a Read, Plot or Control under the tree, replacing what was there."""
        node, result, fields = what
        self._close_detail()
        widget: ipywidgets.Widget
        if kind == "read":
            widget = ipywidgets.HTML(result._repr_html_())
        elif kind == "plot":
            self._detail_stream = result
            title = f"{self.jid} · {node_label(node)}"
            widget = LivePlot(result, fields, window=self.window, title=title, node=node)
        else:
            widget = ControlPanel(self.owner, self.jid, form=result, node=node)
        self._detail = widget
        self._detail_box.children = [widget]
        shown.set_result(widget)

    def _close_detail(self) -> None:
        detail, self._detail = self._detail, None
        stream, self._detail_stream = self._detail_stream, None
        if detail is not None:
            detail.close()
        if stream is not None:
            stream.close()


class _Index:
    """The tree of a node list, for drawing: a node's children, the roots, a node by its reference.

    :class:`Nodes` answers the same by scanning the list, which drawing a tree of thousands of
    nodes many times a second cannot afford.
    """

    def __init__(self, nodes: Iterable[NodeInfo]) -> None:
        self.info: dict[NodeRef, NodeInfo] = {}
        for each in nodes:
            self.info.setdefault(each.node, each)
        self.by_id: dict[str, list[NodeRef]] = {}
        self.children: dict[NodeRef, list[NodeInfo]] = {}
        self.roots: list[NodeInfo] = []
        for ref, each in self.info.items():
            self.by_id.setdefault(ref.id, []).append(ref)
            parent = None if each.parent is None else self.ref(each.parent)
            if parent is None or parent not in self.info or parent == ref:
                self.roots.append(each)
            else:
                self.children.setdefault(parent, []).append(each)

    def ref(self, node: NodeRef) -> NodeRef:
        """The listed node's reference that ``node`` names (``node`` itself when none does)."""
        if node in self.info:
            return node
        return next((ref for ref in self.by_id.get(node.id, ()) if node.names(ref)), node)


def _drop(result: Any) -> None:
    """Let go of an answer that will not be shown (a plot's stream is closed)."""
    if isinstance(result, tuple):
        result = result[1]
    if isinstance(result, Stream):
        result.close()


def _numeric(field: Field) -> bool:
    """Whether a plot can draw the field (booleans draw as 0/1)."""
    return isinstance(field.value, (int, float))


def _shown(field: Field) -> str:
    text = field.lexical_value if field.type is ValueType.QUANTITY else str(field.value)
    return f"{text} {field.unit}" if field.unit else text


def _values_text(fields: dict[str, Field]) -> str:
    """``temperature 4.5 °C · humidity 40 %``: a node's first values, for its row."""
    parts = [f"{html.escape(name)} <b>{html.escape(_shown(field))}</b>" for name, field in fields.items()]
    more = " · …" if len(parts) > SHOWN_VALUES else ""
    return f"<small>{' · '.join(parts[:SHOWN_VALUES])}{more}</small>"


def _describe(info: NodeInfo) -> str:
    notes = [node_label(info.node)]
    if info.node_type:
        notes.append(info.node_type)
    if info.state.value not in ("", "None", "none"):
        notes.append(str(info.state.value))
    notes += [word for word, flag in (("readable", info.is_readable), ("controllable", info.is_controllable)) if flag]
    return " · ".join(notes)


def watched_nodes(infos: Iterable[NodeInfo]) -> tuple[NodeRef, ...]:
    """The readable nodes among ``infos``, at most :data:`MAX_WATCHED`: what one live subscription names."""
    return tuple(info.node for info in infos if info.is_readable)[:MAX_WATCHED]
