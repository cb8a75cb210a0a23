"""The protocol inspector: the stanzas of a session, live, pretty-printed and highlighted.

>>> Inspector(alice)                 # doctest: +SKIP
>>> Inspector(lamp.trace, limit=50)  # doctest: +SKIP

Each stanza shows its direction (→ sent, ← received), the local time to the
millisecond, the peer, and its XML indented and coloured. Filters narrow the
view by peer (bare JID; "(server)" for stanzas with none), by the namespaces
of a stanza's payloads (an error's too: ``<paramError xmlns="urn:nfi:iot:ctr:1.0"/>``
counts as that protocol), and by direction. The view opens scrolled to the
newest stanza and stays there; scrolled up, it stays where the reader put it
while stanzas arrive (the scrolling box is a widget of its own, not part of the
HTML each redraw replaces). *Pause* (or :meth:`Inspector.pause`) freezes the
view to read it while the session goes on; *Clear* empties the view only: the trace itself is
shared (other inspectors, your own code) and keeps every stanza, and stanzas
that arrive after the click show as usual.

XML is coloured by a small highlighter of this module (tags, attribute names,
attribute values) styled by one scoped style sheet per view.

The trace redacts secrets before the inspector ever sees them: SASL payloads
and ``<password>`` elements read ``[redacted]``.
"""

from __future__ import annotations

import html
import re
import xml.dom.minidom
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets

from ...runtime.trace import Trace, TraceEntry
from .live import Redraws, error_area, guarded

RATE = 5.0  # a busy stream sends hundreds of stanzas a second; nobody reads faster than this
ALL = ""  # the filter value meaning "no filter"
SERVER = "(server)"  # the peer of stanzas without to/from: the server itself
DIRECTIONS = [("both", ALL), ("→ sent", "out"), ("← received", "in")]

# One small style sheet per view and short class names instead of inline styles on every
# span: the whole view is re-sent at each redraw, and this halves it (pygments' inline HTML).
STYLE = (
    "<style>"
    ".xiotlab-stanza{margin:0.4em 0}"
    ".xiotlab-stanza .out{color:#1565c0;font-weight:bold}.xiotlab-stanza .in{color:#6a1b9a;font-weight:bold}"
    ".xiotlab-xml{margin:0.1em 0 0 1.2em;padding:0.2em;background:#f8f8f8;white-space:pre-wrap;word-break:break-all}"
    ".xiotlab-xml .t{color:#008000;font-weight:bold}.xiotlab-xml .a{color:#687822}.xiotlab-xml .v{color:#ba2121}"
    "</style>"
)
_TAG = re.compile(r"<[^<>]*>")
_TAG_PARTS = re.compile(r"(<[/?!]?)([^\s/?>]*)(.*?)([/?]?>)", re.S)
_ATTRIBUTE = re.compile(r"""(\s+)([^\s=]+)(\s*=\s*)("[^"]*"|'[^']*')""")


class Inspector(ipywidgets.VBox):
    """A live, filtered view of a trace: the stanzas a participant sent and received, newest last.

    Parameters
    ----------
    source:
        A participant (its ``.trace`` is shown) or a :class:`~xiotlab.runtime.Trace`.
    limit:
        The most stanzas shown: the newest that match the filters. Only these are
        turned into HTML, so a long trace costs no more than a short one.
    rate:
        The most redraws a second.

    Attributes
    ----------
    peer, namespace, direction:
        The filter widgets (``Dropdown``, ``Dropdown``, ``ToggleButtons``). Peer and
        namespace offer what the trace holds; :meth:`filter` sets any of them from code.
    pause_button:
        ``ToggleButton``: while down, the view stays as it was (filters still apply to it);
        :meth:`pause` and :meth:`resume` press and release it from code.
    clear:
        ``Button``: empties the view (not the trace); later stanzas show as usual.
    stanzas:
        The ``HTML`` widget holding the stanzas.
    scroller:
        The ``Box`` that scrolls them: it outlives every redraw, so does the reader's position.
    summary:
        A line saying how many stanzas show, of how many.
    errors:
        Where failures of redraws and callbacks show their tracebacks.
    """

    def __init__(self, source: Any, *, limit: int = 200, rate: float = RATE) -> None:
        self.trace = _trace_of(source)
        if not (isinstance(limit, int) and limit > 0):
            raise ValueError(f"limit={limit!r}: give the most stanzas to show, a positive whole number")
        self.limit = limit
        self._label = getattr(source, "jid", None)
        self._mark: TraceEntry | None = None  # Clear hides this entry and everything older
        self._frozen: list[TraceEntry] | None = None  # the entries shown while paused
        self._cache: dict[TraceEntry, str] = {}  # HTML of the entries on screen, made once each
        self._counts = (0, 0)
        self.errors = error_area()
        self._make_controls()
        self.stanzas = ipywidgets.HTML(layout=ipywidgets.Layout(flex="0 0 auto"))  # its box scrolls, it does not shrink
        self.scroller = _scroller(self.stanzas)
        self.summary = ipywidgets.HTML()
        self._redraws = Redraws(self._render, rate=rate, errors=self.errors)
        self._bar = ipywidgets.HBox(
            [self.peer, self.namespace, self.direction, self.pause_button, self.clear],
            layout=ipywidgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        super().__init__(children=[self._bar, self.summary, self.scroller, self.errors])
        # Drawn once here, before observing: afterwards only the UI thread draws, never two at once.
        self._redraws.now()
        self.trace.observe(self._on_entry)
        self._redraws.request()  # what arrived between the first draw and observing

    def _make_controls(self) -> None:
        # Widths from the content: long JIDs and "Pause" must not be cut, the buttons stay on one row.
        wide = ipywidgets.Layout(width="auto", min_width="16em")
        label = {"description_width": "initial"}
        self.peer = ipywidgets.Dropdown(
            options=[("all peers", ALL)], value=ALL, description="peer", layout=wide, style=label
        )
        self.namespace = ipywidgets.Dropdown(
            options=[("all namespaces", ALL)], value=ALL, description="namespace", layout=wide, style=label
        )
        self.direction = ipywidgets.ToggleButtons(
            options=DIRECTIONS, value=ALL, style={"button_width": "auto"}, layout={"width": "auto"}
        )
        self.pause_button = ipywidgets.ToggleButton(
            description="Pause",
            icon="pause",
            tooltip="Freeze the view to read it; the trace goes on",
            layout={"width": "auto", "min_width": "7em"},
        )
        self.clear = ipywidgets.Button(
            description="Clear",
            icon="eraser",
            tooltip="Empty this view; the trace itself keeps every stanza",
            layout={"width": "auto", "min_width": "6em"},
        )
        redraw = guarded(self.errors, lambda _: self._redraws.request())
        for control in (self.peer, self.namespace, self.direction):
            control.observe(redraw, names="value")
        self.pause_button.observe(guarded(self.errors, self._on_pause), names="value")
        self.clear.on_click(guarded(self.errors, self._on_clear))

    def filter(
        self, *, peer: str | None = None, namespace: str | None = None, direction: str | None = None
    ) -> Inspector:
        """Narrow the view from code, as the controls do; returns the inspector.

        ``peer``: a JID (its resources count as the same peer) or ``"(server)"``;
        ``namespace``: a payload namespace, even one not seen yet; ``direction``:
        ``"out"`` (sent) or ``"in"`` (received). ``""`` removes that filter; None
        leaves it as it is.
        """
        if direction is not None:
            if direction not in (ALL, "out", "in"):
                raise ValueError(f"direction={direction!r}: use 'out' (sent), 'in' (received) or '' (both)")
            self.direction.value = direction
        if peer is not None:
            _choose(self.peer, str(peer).split("/", 1)[0])
        if namespace is not None:
            _choose(self.namespace, str(namespace))
        self._redraws.now()  # the summary and view agree with the filter as soon as it returns
        return self

    def pause(self) -> None:
        """Freeze the view (as the Pause button does); the trace goes on."""
        self.pause_button.value = True

    def resume(self) -> None:
        """Show the trace live again, with what came while paused."""
        self.pause_button.value = False

    # --- events (network thread, click threads) --------------------------------

    def _on_entry(self, entry: TraceEntry) -> None:
        self._redraws.request()

    def _on_pause(self, change) -> None:
        self._frozen = list(self.trace) if change["new"] else None
        self.pause_button.description, self.pause_button.icon = (
            ("Resume", "play") if change["new"] else ("Pause", "pause")
        )
        self._redraws.request()

    def _on_clear(self, _button=None) -> None:
        entries = self._frozen if self._frozen is not None else list(self.trace)
        if entries:
            self._mark = entries[-1]
        self._redraws.request()

    # --- drawing (UI thread) ------------------------------------------------

    def _visible(self) -> list[TraceEntry]:
        """The entries this view may show, oldest first: the trace (or its frozen copy) since Clear."""
        entries = self._frozen if self._frozen is not None else list(self.trace)
        if self._mark is not None:
            for index in range(len(entries) - 1, -1, -1):
                if entries[index] is self._mark:
                    return entries[index + 1 :]
        return entries  # no mark, or it left the bounded trace: everything is newer

    def _render(self) -> None:
        entries = self._visible()
        self._offer(self.peer, "all peers", {peer_of(e) for e in entries})
        self._offer(self.namespace, "all namespaces", {ns for e in entries for ns in e.namespaces})
        matches = _matcher(self.peer.value, self.namespace.value, self.direction.value)
        shown: list[TraceEntry] = []
        total = 0
        for entry in reversed(entries):
            if matches(entry):
                total += 1
                if len(shown) < self.limit:
                    shown.append(entry)
        shown.reverse()
        self._cache = {entry: self._cache.get(entry) or entry_html(entry) for entry in shown}
        self._counts = (len(shown), total)
        self.stanzas.value = STYLE + "".join(self._cache.values()) if shown else "<i>No stanzas to show.</i>"
        self.summary.value = html.escape(self._summary())

    def _summary(self) -> str:
        shown, total = self._counts
        text = f"showing {shown} of {total} matching stanzas (at most {self.limit}, newest last)"
        if self._frozen is not None:
            newer = _newer_than(self.trace, self._frozen)
            text += f"; paused, {newer} newer not shown" if newer else "; paused"
        return text

    @staticmethod
    def _offer(dropdown: ipywidgets.Dropdown, everything: str, seen: Iterable[str]) -> None:
        """Let ``dropdown`` offer what was seen, keeping its choice even when that left the view."""
        chosen = dropdown.value
        values = sorted(set(seen) | ({chosen} - {ALL}))
        options = [(everything, ALL), *((v, v) for v in values)]
        if list(dropdown.options) != options:
            dropdown.options = options
            dropdown.value = chosen  # setting options resets the value

    # --- life cycle and display --------------------------------------------

    def close(self) -> None:
        """Stop following the trace and close the widget and its parts."""
        redraws = getattr(self, "_redraws", None)
        if redraws is not None and not redraws.closed:
            redraws.close()
            self.trace.unobserve(self._on_entry)
            for part in (*self._bar.children, self._bar, self.summary, self.stanzas, self.scroller, self.errors):
                part.close()
        super().close()

    def __repr__(self) -> str:
        source = f"{self._label}'s trace" if self._label else repr(self.trace)
        filters = (
            ", ".join(
                f"{name}={value}"
                for name, value in (
                    ("peer", self.peer.value),
                    ("namespace", self.namespace.value),
                    ("direction", self.direction.value),
                )
                if value
            )
            or "no filter"
        )
        state = "paused" if self._frozen is not None else "live"
        return f"<Inspector of {source}: {self._summary()}; {filters}; {state}>"


def _scroller(stanzas: ipywidgets.HTML) -> ipywidgets.Box:
    """A box that scrolls ``stanzas``, opening (and staying) at its end: the newest stanza.

    A reversed flex column puts the scroll origin at the bottom; the one child keeps the order.
    The box is a widget of its own: a redraw replaces the HTML inside it, not the box, so a
    reader who scrolled up keeps the scroll position.
    """
    box = ipywidgets.Box(
        [stanzas],
        layout=ipywidgets.Layout(
            display="flex", flex_flow="column-reverse", max_height="36em", overflow="auto", width="100%"
        ),
    )
    box.add_class("xiotlab-stanzas")
    return box


def peer_of(entry: TraceEntry) -> str:
    """The peer a stanza went to or came from, as a bare JID; ``(server)`` when it names none."""
    return entry.peer.split("/", 1)[0] if entry.peer else SERVER


def _choose(dropdown: ipywidgets.Dropdown, value: str) -> None:
    """Select ``value``, offering it first if the trace has not shown it yet."""
    if value not in [v for _, v in dropdown.options]:
        dropdown.options = [*dropdown.options, (value, value)]
    dropdown.value = value


def _matcher(peer: str, namespace: str, direction: str) -> Callable[[TraceEntry], bool]:
    # Filters read only what an entry knows without serializing it.
    def matches(entry: TraceEntry) -> bool:
        return (
            (not peer or peer_of(entry) == peer)
            and (not namespace or namespace in entry.namespaces)
            and (not direction or entry.direction == direction)
        )

    return matches


def _newer_than(trace: Trace, frozen: list[TraceEntry]) -> int:
    """How many entries of ``trace`` came after the last of ``frozen``."""
    entries = list(trace)
    if not frozen:
        return len(entries)
    for index in range(len(entries) - 1, -1, -1):
        if entries[index] is frozen[-1]:
            return len(entries) - index - 1
    return len(entries)


def entry_html(entry: TraceEntry) -> str:
    """One stanza as HTML: a header line (arrow, time, peer, what it carries) and its coloured XML."""
    arrow = "→" if entry.direction == "out" else "←"
    time = entry.time.astimezone()  # the learner's clock, not UTC
    carries = f" · {', '.join(entry.namespaces)}" if entry.namespaces else ""
    header = (
        f"<span class={entry.direction}>{arrow}</span> "
        f"<code>{time:%H:%M:%S}.{time.microsecond // 1000:03d}</code> "
        f"<b>{html.escape(entry.peer or SERVER)}</b> &lt;{html.escape(entry.tag)}&gt;{html.escape(carries)}"
    )
    return (
        f"<div class='xiotlab-stanza' data-direction='{entry.direction}'><div>{header}</div>{xml_html(entry.xml)}</div>"
    )


def xml_html(text: str) -> str:
    """XML text indented and coloured as a ``<pre>`` block; shown as it is if it does not parse."""
    return f"<pre class='xiotlab-xml'>{highlight_xml(pretty_xml(text))}</pre>"


def highlight_xml(text: str) -> str:
    """``text`` escaped for HTML, its tags, attribute names and values in spans of classes t, a, v.

    Text that is not XML comes out escaped, coloured as well as it goes: it never fails.
    """
    out, position = [], 0
    for tag in _TAG.finditer(text):
        out += [_escape(text[position : tag.start()]), _tag_html(tag.group())]
        position = tag.end()
    out.append(_escape(text[position:]))
    return "".join(out)


def _tag_html(tag: str) -> str:
    parts = _TAG_PARTS.fullmatch(tag)
    if parts is None:
        return f"<span class=t>{_escape(tag)}</span>"
    opening, name, attributes, closing = parts.groups()
    if not attributes.strip():
        return f"<span class=t>{_escape(tag)}</span>"  # </ts>, <required/>: one span
    out, position = [f"<span class=t>{_escape(opening + name)}</span>"], 0
    for attribute in _ATTRIBUTE.finditer(attributes):
        space, key, equals, value = attribute.groups()
        out += [
            _escape(attributes[position : attribute.start()] + space),
            f"<span class=a>{_escape(key)}</span>{_escape(equals)}<span class=v>{_escape(value)}</span>",
        ]
        position = attribute.end()
    out += [_escape(attributes[position:]), f"<span class=t>{_escape(closing)}</span>"]
    return "".join(out)


def _escape(text: str) -> str:
    # Inside <pre>, only these three matter; quotes stay as written to keep the XML readable.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pretty_xml(text: str) -> str:
    """``text`` indented two spaces a level, prefixes kept as written; unchanged if it does not parse."""
    try:
        root = xml.dom.minidom.parseString(text).documentElement
        pretty = root.toprettyxml(indent="  ") if root is not None else text
    except Exception:  # the inspector shows anything, even what it cannot parse
        return text
    # Whitespace between elements in the original would become blank lines.
    return "\n".join(line for line in pretty.splitlines() if line.strip())


def _trace_of(source: Any) -> Trace:
    if isinstance(source, Trace):
        return source
    trace = getattr(source, "trace", None)
    if isinstance(trace, Trace):
        return trace
    raise TypeError(f"Inspector({source!r}): give a participant (a Thing or an Owner) or its `.trace`.")
