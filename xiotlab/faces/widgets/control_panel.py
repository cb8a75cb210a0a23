"""``ControlPanel``: a thing's control parameters as widgets; a change is sent as soon as it is made.

The panel is built from the thing's control form, one row a parameter: its
label (the description as tooltip), an input showing the current value, a
status (``⏳`` sending, ``✓`` set, ``✗`` refused) and, when the thing refused
a value, why. Which input a parameter gets:

=================================  =============================================
parameter                          input
=================================  =============================================
boolean                            Checkbox
with options (enumerations)        Dropdown
int, long, double with min & max   IntSlider / FloatSlider, sent on release, and a
                                   box to type a value in (``typed``): out of range
                                   too, so the thing's refusal shows, never clamped
int, long, double otherwise        IntText / FloatText
date                               DatePicker
time, dateTime, duration, color    Text in ISO 8601 / RRGGBB (placeholder shows how)
string                             Text, sent on Enter or when leaving the field
read-only                          the same, disabled
=================================  =============================================

Threads: a change arrives on whatever thread the kernel runs the comm
handler on. The handler only starts the set (:func:`~.live.submit`) and
returns; the answer arrives on the network thread, which only updates the
panel's state under a lock. The UI thread then draws that state
(:class:`~.live.Redraws`). When the panel itself puts a value into an input
(a refused value going back to the accepted one, a refresh), that thread is
marked quiet, so the input's observer does not send the value back.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import math
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets

from ...errors import ParameterError, XiotlabError
from ...protocol import parameters
from ...protocol.parameters import ControlForm, ControlParameter, ParameterType
from ...protocol.values import LOCAL, NodeRef
from ...roles.readout import as_node, node_label
from .live import DEFAULT_RATE, Redraws, error_area, guarded, submit

if TYPE_CHECKING:
    from ...roles.owner import Owner

__all__ = ["ControlPanel", "ParameterRow"]

SENDING, SET, FAILED = "⏳", "✓", "✗"

T = ParameterType
# Types typed as text, in their wire (ISO 8601) form; the placeholder shows the shape.
_PLACEHOLDERS = {
    T.TIME: "hh:mm:ss",
    T.DATETIME: "YYYY-MM-DDThh:mm:ss (local time unless a zone is given)",
    T.DURATION: "PnYnMnDTnHnMnS, e.g. PT1H30M",
    T.COLOR: "RRGGBB or RRGGBBAA",
}
_RED = "#c62828"
_KEEP = object()  # "leave the input as it is"


class _Quiet:
    """Marks the threads that are putting a value into an input themselves, so it is not sent."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __enter__(self) -> None:
        self._local.on = True

    def __exit__(self, *exc: object) -> None:
        self._local.on = False

    def __bool__(self) -> bool:
        return getattr(self._local, "on", False)


class ParameterRow:
    """One parameter's row: ``label``, ``input``, ``status`` and ``error`` widgets, in ``box``.

    Besides the widgets it holds what the panel knows of the parameter; that
    state changes under the panel's lock on any thread, the widgets only in
    :meth:`draw`, on the UI thread.
    """

    def __init__(self, parameter: ControlParameter, value: Any) -> None:
        self.parameter = parameter
        self.input = _input_for(parameter, value)
        # A slider clamps what is typed into its readout; this box sends what was typed, as typed.
        self.typed = _typed_for(parameter, value) if isinstance(self.input, _SLIDERS) else None
        self.label = ipywidgets.Label(
            parameter.label or parameter.name,
            tooltip=parameter.description or None,
            layout=ipywidgets.Layout(width="12em"),
        )
        self.status = ipywidgets.Label("", layout=ipywidgets.Layout(width="2em"))
        self.error = ipywidgets.Label("", style={"text_color": _RED})
        inputs = [self.input] if self.typed is None else [self.input, self.typed]
        self.box = ipywidgets.HBox([self.label, *inputs, self.status, self.error])
        self.state = ""  # the status to show: "", SENDING, SET or FAILED
        self.why = ""  # why the last value was refused
        self.show = _KEEP  # a value to put into the input at the next draw
        self.sent = 0  # number of the latest send: only its answer changes what shows
        self.settled = 0  # number of the latest send the thing accepted
        self.pending = 0  # sends still waiting for an answer

    @property
    def name(self) -> str:
        return self.parameter.name

    def draw(self, quiet: _Quiet) -> None:
        """Bring the widgets up to the state (UI thread, panel lock held)."""
        if self.show is not _KEEP:
            value, self.show = self.show, _KEEP
            with quiet:
                self.input.value = _to_input(self.parameter, value)
                if self.typed is not None:
                    self.typed.value = self.input.value
        self.status.value = self.state
        self.error.value = self.why

    def close(self) -> None:
        for widget in (self.box, self.label, self.input, self.typed, self.status, self.error):
            if widget is not None:
                widget.close()

    def __repr__(self) -> str:
        return f"<ParameterRow {self.name}: {type(self.input).__name__} {self.input.value!r} {self.state}{self.why}>"


class ControlPanel(ipywidgets.VBox):
    """A thing's controls as widgets: change a value and it is set; the thing's answer shows beside it.

    ``owner`` controls thing ``jid`` (a friend; a bare name means one on the
    owner's domain). ``node``: of a concentrator, the node to control (a node id or a
    :class:`~xiotlab.protocol.values.NodeRef`; None, the concentrator's own). ``form`` is the
    :class:`~xiotlab.protocol.parameters.ControlForm` to build from; without it the panel
    reads it with ``owner.control_form(jid, node=node)``, blocking. ``rate``: the most redraws a second.

    A value the thing refuses shows its reason next to the parameter, and the
    input goes back to the last value the thing accepted. Other failures
    (not allowed to control, no answer in time) show in the message line
    under the rows; unexpected exceptions as tracebacks in ``errors``.

    >>> panel = ControlPanel(alice, "lamp")   # doctest: +SKIP
    >>> panel                                 # in a notebook: the widgets
    >>> panel.values                          # {'on': True, 'brightness': 40.0, ...}, as the lamp accepted them
    >>> panel.refresh()                       # re-read the form (the Refresh button does the same)
    >>> panel.rows["brightness"].input.value = 30.0    # what moving the slider does
    """

    def __init__(
        self,
        owner: Owner,
        jid: str,
        *,
        node: NodeRef | str | None = None,
        form: ControlForm | None = None,
        rate: float = DEFAULT_RATE,
    ) -> None:
        node = None if node is None else as_node(node)
        # Read before the widget exists: a refusal then leaves nothing half made.
        form = owner.control_form(jid, node=node) if form is None else form
        super().__init__()
        self.owner, self.jid, self.node = owner, owner.resolve(jid), node
        self.errors = error_area()
        self._lock = threading.RLock()  # re-entered by the observers our own draws trigger
        self._quiet = _Quiet()
        self._form = form
        self._accepted = _values(form)
        self._rows: dict[str, ParameterRow] = {}
        self._rebuild = True
        self._message = ""
        self._header = self._make_header()
        self._table = ipywidgets.VBox()
        self._message_line = ipywidgets.Label("", style={"text_color": _RED})
        self.children = [self._header, self._table, self._message_line, self.errors]
        self._redraws = Redraws(self._render, rate=rate, errors=self.errors)
        self._redraws.now()

    def _make_header(self) -> ipywidgets.HBox:
        self._title = ipywidgets.Label("", style={"font_weight": "bold"}, layout=ipywidgets.Layout(width="26em"))
        self._refresh_button = ipywidgets.Button(
            description="Refresh", icon="refresh", tooltip="Read the thing's parameters and values again"
        )
        self._refresh_button.on_click(guarded(self.errors, lambda _: self.refresh()))
        return ipywidgets.HBox([self._title, self._refresh_button])

    # --- public -----------------------------------------------------------

    @property
    def values(self) -> dict[str, Any]:
        """Each parameter's value as the thing last accepted or reported it (None: unknown)."""
        with self._lock:
            return dict(self._accepted)

    @property
    def rows(self) -> dict[str, ParameterRow]:
        """The rows by parameter name, as last drawn: ``rows["on"].input`` is the Checkbox."""
        with self._lock:
            return dict(self._rows)

    @property
    def form(self) -> ControlForm:
        """The control form the panel last read."""
        return self._form

    @property
    def message(self) -> str:
        """The panel's message line: the last failure not tied to one parameter ("" when none)."""
        return self._message

    def refresh(self) -> concurrent.futures.Future:
        """Read the thing's control form again, without waiting.

        Inputs take the thing's values (except those with a value still on its
        way); the rows are rebuilt when the parameters changed. Returns a
        Future of the new form, None when reading failed (the message line says
        why): ``panel.refresh().result()`` waits until the panel's state has it.
        """
        return submit(self.errors, self._areload())

    def close(self) -> None:
        """Stop drawing and close every widget of the panel; answers still on their way are dropped."""
        redraws = getattr(self, "_redraws", None)
        if redraws is not None:  # also called by ipywidgets' __del__, maybe on a half-made panel
            redraws.close()
            with self._lock:
                for row in self._rows.values():
                    row.close()
            for widget in (
                self._title,
                self._refresh_button,
                self._header,
                self._table,
                self._message_line,
                self.errors,
            ):
                widget.close()
        super().close()

    def __repr__(self) -> str:
        with self._lock:
            values = ", ".join(f"{name}={value!r}" for name, value in self._accepted.items())
            sending = sum(row.pending for row in self._rows.values())
            message = self._message
        state = "closed" if self._redraws.closed else f"{sending} sending" if sending else "idle"
        whose = f"{self.jid} node {node_label(self.node)}" if self.node else self.jid
        return (
            f"<ControlPanel {whose} ({state}): {values or 'no parameters'}" + (f"; {message}" if message else "") + ">"
        )

    # --- a person changed an input (any thread) ------------------------------

    def _changed(self, row: ParameterRow, change: dict) -> None:
        """Send the input's new value, without waiting for the answer."""
        if self._quiet or self._redraws.closed:
            return
        try:
            value = _from_input(row.parameter, change["new"])
        except (TypeError, ValueError) as error:
            self._refuse_here(row, str(error))
            return
        with self._lock:
            if self._rows.get(row.name) is not row:
                return  # a rebuild replaced this row
            row.sent += 1
            row.pending += 1
            number = row.sent
            row.state, row.why, self._message = SENDING, "", ""
        self._redraws.request()
        submit(self.errors, self._asend(row, number, value))

    def _refuse_here(self, row: ParameterRow, why: str) -> None:
        """A value that cannot be sent at all: say why, and show the accepted value again."""
        with self._lock:
            row.sent += 1  # answers to earlier sends no longer decide what shows
            row.state, row.why, row.show = FAILED, why, self._accepted.get(row.name)
        self._redraws.request()

    # --- answers (network thread) ---------------------------------------------

    async def _asend(self, row: ParameterRow, number: int, value: Any) -> None:
        """Set one parameter on the thing and record its answer."""
        try:
            if self.node is None:  # a thing's panel calls as it always did
                await self.owner.aset(self.jid, {row.name: value})
            else:
                await self.owner.aset(self.jid, {row.name: value}, node=self.node)
        except BaseException as error:
            self._answered(row, number, value, error)
            if not isinstance(error, XiotlabError):
                raise  # unexpected: its traceback goes to the errors area
        else:
            self._answered(row, number, value, None)

    def _answered(self, row: ParameterRow, number: int, value: Any, error: BaseException | None) -> None:
        with self._lock:
            row.pending -= 1
            if self._rows.get(row.name) is not row:
                return  # a rebuild replaced this row: the fresh form is the truth
            if error is None and number > row.settled:  # answers may come back out of order
                row.settled = number
                self._accepted[row.name] = value
            if number == row.sent:
                row.state = SET if error is None else FAILED
                # What the thing holds now: the value sent (on the step grid: 22.2 typed with step
                # 0.5 went as 22.0), or after a refusal the last value it accepted.
                row.show = value if error is None else self._accepted.get(row.name)
            if error is not None:
                self._show_refusal(row, number, value, error)
        self._redraws.request()

    def _show_refusal(self, row: ParameterRow, number: int, value: Any, error: BaseException) -> None:
        """Next to the parameter the thing named, or in the message line (lock held)."""
        named = self._rows.get(error.parameter) if isinstance(error, ParameterError) else None
        if named is None or not isinstance(error, ParameterError):
            self._message = f"{FAILED} {row.name} = {value!r}: {error}"
        elif named is not row or number == row.sent:  # a stale refusal would hide the newer send
            named.why = _why(error)

    async def _areload(self) -> ControlForm | None:
        try:
            if self.node is None:
                form = await self.owner.acontrol_form(self.jid)
            else:
                form = await self.owner.acontrol_form(self.jid, node=self.node)
        except XiotlabError as error:
            with self._lock:
                self._message = f"{FAILED} refresh: {error}"
            self._redraws.request()
            return None
        self._reloaded(form)
        return form

    def _reloaded(self, form: ControlForm) -> None:
        """Take the values of a fresh form; rebuild the rows when its parameters changed."""
        with self._lock:
            self._rebuild = self._rebuild or _shape(form) != _shape(self._form)
            self._form, self._accepted, self._message = form, _values(form), ""
            for row in self._rows.values():
                if not self._rebuild and not row.pending:
                    row.state, row.why, row.show = "", "", self._accepted.get(row.name)
        self._redraws.request()

    # --- drawing (UI thread) ------------------------------------------------

    def _render(self) -> None:
        with self._lock:
            if self._rebuild:
                self._build()
            for row in self._rows.values():
                row.draw(self._quiet)
            self._message_line.value = self._message

    def _build(self) -> None:
        """One row a parameter of the current form, replacing the old rows (lock held)."""
        old = list(self._rows.values())
        self._rows = {p.name: self._row(p) for p in self._form.parameters}
        self._table.children = [row.box for row in self._rows.values()] or [
            ipywidgets.Label(f"This {'node' if self.node else 'thing'} declares no control parameters.")
        ]
        for row in old:
            row.close()
        self._title.value = self._form.title or self.jid
        if self.node is not None:
            self._title.value += f" · node {node_label(self.node)}"
        self._rebuild = False

    def _row(self, parameter: ControlParameter) -> ParameterRow:
        row = ParameterRow(parameter, self._accepted.get(parameter.name))
        for widget in (row.input, row.typed):
            if widget is not None:
                widget.observe(guarded(self.errors, functools.partial(self._changed, row)), names="value")
        return row


# --- inputs ------------------------------------------------------------------------


def _input_for(p: ControlParameter, value: Any) -> ipywidgets.ValueWidget:
    """The input widget for parameter ``p``, showing ``value``."""
    common = dict(value=_to_input(p, value), disabled=p.read_only, layout=ipywidgets.Layout(width="22em"))
    if p.options:
        choices = [(o.label or str(o.value), o.value) for o in p.options]
        return ipywidgets.Dropdown(options=choices, **common)
    if p.type is T.BOOLEAN:
        return ipywidgets.Checkbox(indent=False, **common)
    if p.type.numeric:
        return _number_input(p, common)
    if p.type is T.DATE:
        return ipywidgets.DatePicker(**common)
    # continuous_update=False: a string is sent once it is typed, not at every key.
    return ipywidgets.Text(placeholder=_PLACEHOLDERS.get(p.type, ""), continuous_update=False, **common)


def _number_input(p: ControlParameter, common: dict) -> ipywidgets.ValueWidget:
    integral = p.type is not T.DOUBLE
    if p.min is None or p.max is None:
        if p.step is not None:
            common["step"] = p.step
        return (ipywidgets.IntText if integral else ipywidgets.FloatText)(**common)
    # continuous_update=False: one set when the slider is let go, not one a pixel.
    if integral:
        return ipywidgets.IntSlider(min=p.min, max=p.max, step=p.step or 1, continuous_update=False, **common)
    step = p.step or _default_step(p.max - p.min)
    return ipywidgets.FloatSlider(
        min=p.min, max=p.max, step=step, continuous_update=False, readout_format=f".{_decimals(step)}f", **common
    )


_SLIDERS = (ipywidgets.IntSlider, ipywidgets.FloatSlider)


def _typed_for(p: ControlParameter, value: Any) -> ipywidgets.ValueWidget:
    """A box to type a number in, unbounded: the thing, not the widget, says what is out of range."""
    kind = ipywidgets.FloatText if p.type is T.DOUBLE else ipywidgets.IntText
    return kind(
        value=_to_input(p, value),
        disabled=p.read_only,
        continuous_update=False,
        tooltip=f"type a value ({p.min} to {p.max})",
        layout=ipywidgets.Layout(width="7em"),
    )


def _default_step(span: float) -> float:
    """A round step giving about a hundred positions: 1 for 0..100, 0.01 for 0..1."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    return 10.0 ** math.floor(math.log10(span / 100))


def _decimals(number: float) -> int:
    """How many decimals ``number`` needs: 0.5 needs 1, 100 none."""
    exponent = Decimal(repr(float(number))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _to_input(p: ControlParameter, value: Any) -> Any:
    """What the input shows for the thing's ``value`` (None: not known)."""
    if p.options:
        return value if value in [o.value for o in p.options] else None
    if p.type in _PLACEHOLDERS:
        return "" if value is None else parameters.to_lexical(p.type, value)
    if value is not None or p.type is T.DATE:
        return value
    if p.type.numeric:
        blank = p.min if p.min is not None else 0
        return float(blank) if p.type is T.DOUBLE else blank
    return False if p.type is T.BOOLEAN else ""


def _from_input(p: ControlParameter, shown: Any) -> Any:
    """The typed value to send for what the input shows; ValueError says why it cannot be sent."""
    if shown is None:
        raise ValueError("choose a value")
    if p.options:
        return shown  # a Dropdown's values are the options, typed
    if p.type in _PLACEHOLDERS:
        # People type local times; a value with a zone keeps it.
        return parameters.from_lexical(p.type, shown.strip(), naive_tz=LOCAL)
    if p.type is T.DOUBLE:
        return _on_grid(p, float(shown))
    if p.type in (T.INT, T.LONG):
        return int(shown)
    return shown


def _on_grid(p: ControlParameter, value: float) -> float:
    """``value`` on the parameter's step grid: sliders add binary noise (0.30000000000000004)."""
    if p.step is None or not math.isfinite(value):
        return value
    base = float(p.min) if p.min is not None else 0.0
    return round(base + round((value - base) / p.step) * p.step, max(_decimals(p.step), _decimals(base)))


# --- forms -------------------------------------------------------------------------


def _values(form: ControlForm) -> dict[str, Any]:
    return {p.name: p.value for p in form.parameters}


def _shape(form: ControlForm) -> tuple[ControlParameter, ...]:
    """The form's parameters without their values: when it changes, the rows are rebuilt."""
    return tuple(dataclasses.replace(p, value=None) for p in form.parameters)


def _why(error: ParameterError) -> str:
    """The refusal's text and hint, without the parameter's name (the row already shows it)."""
    return f"{error.text}; {error.hint}" if error.hint else error.text
