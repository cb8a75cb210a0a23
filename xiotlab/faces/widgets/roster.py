"""The roster widget: a participant's contacts, live, and an owner's requests to answer.

>>> Roster(alice)        # doctest: +SKIP

Each contact shows a presence dot (green online, amber away, red do not
disturb, grey offline), its JID, its status text and, in words, where the
friendship stands; the caption says whether the participant itself is
online, reconnecting (and how often it tried) or offline. For an
:class:`~xiotlab.roles.owner.Owner` a second section lists the requests
waiting for a decision: to befriend, to read fields or to control parameters
of a thing. A read or control request shows a checkbox per field or parameter
asked, all ticked (*Approve* allows exactly the ticked ones), or, when it
asked for all, a text box to name some (left empty: all); every request but one to befriend the owner itself has
a range (the caller, its domain, everyone), and *Approve* and *Reject*
buttons. An answered request disappears by itself.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets

from ...protocol.provisioning import RuleRange
from ...roles.friendship import FriendRequest
from ...roles.roster import Contact
from .live import Redraws, error_area, guarded, submit

RATE = 10.0  # presence changes come in bursts (a login brings every friend's): 10 redraws/s is plenty

# presence -> (words a learner understands, dot colour)
PRESENCE = {
    "chat": ("online, free to chat", "#2e7d32"),
    "available": ("online", "#2e7d32"),
    "away": ("away", "#f9a825"),
    "xa": ("away for long", "#f9a825"),
    "dnd": ("do not disturb", "#c62828"),
    "unavailable": ("offline", "#9e9e9e"),
}

_HEADER = (
    "<tr><th style='text-align:left'>presence</th><th style='text-align:left'>JID</th>"
    "<th style='text-align:left'>status</th><th style='text-align:left'>friendship</th></tr>"
)


class Roster(ipywidgets.VBox):
    """A live view of ``participant.roster`` (a Thing's or an Owner's), with an owner's pending requests.

    Parameters
    ----------
    participant:
        A :class:`~xiotlab.Thing` or :class:`~xiotlab.Owner`; it may be online or not yet.
    rate:
        The most redraws a second.

    Attributes
    ----------
    table:
        The ``HTML`` widget holding the contact table.
    requests:
        The ``VBox`` of request rows (an owner's; empty for a thing). Each row is an
        ``HBox``: the request in words (``HTML``), then its parts (a ``Checkbox`` per field or
        parameter asked, or a ``Text`` when it asked for all), the range (a ``Dropdown``, except
        for a request to befriend the owner), and the *Approve* and *Reject* buttons.
    errors:
        Where failures of redraws, clicks and answers show their tracebacks.

    Buttons work from any thread; they start the answer on the network thread and
    return at once. Call :meth:`close` to stop following the participant.
    """

    def __init__(self, participant: Any, *, rate: float = RATE) -> None:
        self.participant = participant
        self._owner = participant if hasattr(participant, "requests") else None
        self.errors = error_area()
        self.table = ipywidgets.HTML()
        self.requests = ipywidgets.VBox()
        self._rows: dict[FriendRequest, ipywidgets.HBox] = {}
        self._no_requests = ipywidgets.HTML("<i>No requests waiting.</i>")
        self._requests_changed = True
        self._redraws = Redraws(self._render, rate=rate, errors=self.errors)
        self._heading = ipywidgets.HTML("<b>Requests waiting for your decision</b>")
        requests = [self._heading, self.requests] if self._owner is not None else []
        super().__init__(children=[self.table, *requests, self.errors])
        # Drawn once here, before observing: afterwards only the UI thread draws, never two at once.
        self._redraws.now()
        participant.roster.observe(self._on_roster)
        participant.connection.observe(self._on_connection)
        if self._owner is not None:
            self._owner.requests.observe(self._on_requests)
        self._redraws.request()  # what changed between the first draw and observing

    # --- events (network thread) ------------------------------------------

    def _on_roster(self, roster, jid) -> None:
        self._redraws.request()

    def _on_connection(self, connection, state) -> None:
        self._redraws.request()

    def _on_requests(self, requests, request) -> None:
        # The rows are widgets: rebuilt only when requests change, not at every presence.
        self._requests_changed = True
        self._redraws.request()

    # --- drawing (UI thread) ------------------------------------------------

    def _render(self) -> None:
        self.table.value = self._table_html()
        if self._owner is not None and self._requests_changed:
            self._requests_changed = False  # cleared first: a change during the rebuild asks again
            self._rebuild_requests(self._owner)

    def _contacts(self) -> list[Contact]:
        roster = self.participant.roster
        found = (roster.get(jid) for jid in sorted(roster))
        return [contact for contact in found if contact is not None]

    def _table_html(self) -> str:
        contacts = self._contacts()
        state = self.participant.connection.words
        caption = f"Contacts of {html.escape(self.participant.jid)} <span data-connection>({html.escape(state)})</span>"
        rows = "".join(_contact_row(c) for c in contacts) or (
            "<tr><td colspan=4><i>No contacts yet: befriend someone.</i></td></tr>"
        )
        return (
            f"<table class='xiotlab-roster'><caption style='text-align:left'><b>{caption}</b></caption>"
            f"{_HEADER}{rows}</table>"
        )

    def _rebuild_requests(self, owner: Any) -> None:
        pending = list(owner.requests)
        for request in set(self._rows) - set(pending):
            _close_row(self._rows.pop(request))
        for request in pending:
            if request not in self._rows:
                self._rows[request] = self._request_row(owner, request)
        self.requests.children = [self._rows[r] for r in pending] or [self._no_requests]

    def _request_row(self, owner: Any, request: FriendRequest) -> ipywidgets.HBox:
        target = "you" if request.thing == owner.jid else request.thing
        label = ipywidgets.HTML(f"<b>{html.escape(request.requester)}</b> {_wants(request, target)}")
        parts = _part_choices(request)
        ranges = [] if request.thing == owner.jid else [_range_choice()]
        approve = ipywidgets.Button(description="Approve", button_style="success", icon="check")
        reject = ipywidgets.Button(description="Reject", button_style="danger", icon="times")
        row = ipywidgets.HBox([label, *parts, *ranges, approve, reject], layout=_ROW)

        def chosen_range() -> str:
            return ranges[0].value if ranges else RuleRange.CALLER.value

        def allow_if_any_ticked(_change: Any = None) -> None:
            approve.disabled = bool(parts) and _chosen(parts) == ()

        for part in parts:
            if isinstance(part, ipywidgets.Checkbox):
                part.observe(allow_if_any_ticked, names="value")
        approve.on_click(
            guarded(
                self.errors,
                lambda _: self._answer(row, lambda: owner.aapprove(request, chosen_range(), _chosen(parts))),
            )
        )
        reject.on_click(
            guarded(self.errors, lambda _: self._answer(row, lambda: owner.areject(request, chosen_range())))
        )
        return row

    # --- clicks (any thread) ------------------------------------------------

    def _answer(self, row: ipywidgets.HBox, decide) -> None:
        """Send the decision without waiting; the row goes when the request is answered."""
        inputs = [part for part in row.children[1:] if hasattr(part, "disabled")]
        enabled = [part for part in inputs if not part.disabled]
        answer = decide()  # before disabling: if this raises, the row stays usable
        for part in inputs:
            part.disabled = True  # one answer per request, however often it is clicked
        future = submit(self.errors, answer)

        def enable_on_failure(future) -> None:
            if future.cancelled() or future.exception() is not None:
                for part in enabled:
                    part.disabled = False  # the error shows in `errors`; let the learner try again

        future.add_done_callback(enable_on_failure)

    # --- life cycle and display --------------------------------------------

    def close(self) -> None:
        """Stop following the participant and close the widget and its parts."""
        redraws = getattr(self, "_redraws", None)
        if redraws is not None and not redraws.closed:
            redraws.close()
            self.participant.roster.unobserve(self._on_roster)
            self.participant.connection.unobserve(self._on_connection)
            if self._owner is not None:
                self._owner.requests.unobserve(self._on_requests)
            for row in self._rows.values():
                _close_row(row)
            self._rows.clear()
            for part in (self.table, self._heading, self.requests, self._no_requests, self.errors):
                part.close()
        super().close()

    def __repr__(self) -> str:
        contacts = self._contacts()
        waiting = f", {len(self._owner.requests)} requests waiting" if self._owner is not None else ""
        state = self.participant.connection.words
        lines = [f"<Roster widget of {self.participant.jid} ({state}): {len(contacts)} contacts{waiting}>"]
        for c in contacts:
            status = f" {c.status!r}" if c.status else ""
            lines.append(f"  {c.jid}: {PRESENCE.get(c.presence, (c.presence,))[0]}, {friendship(c)}{status}")
        if self._owner is not None:
            lines += [f"  request: {r.requester} → {_wants(r, r.thing)}" for r in self._owner.requests]
        return "\n".join(lines)


def friendship(contact: Contact) -> str:
    """Where the friendship with ``contact`` stands, in words: friend, asked, asking, one way or none."""
    if contact.friend:
        return "friend"
    words = []
    if contact.pending_out:
        words.append("you asked, waiting for their answer")
    if contact.pending_in:
        words.append("they asked, waiting for your answer")
    if contact.subscription == "to":
        words.append("one way: you see their presence")
    elif contact.subscription == "from":
        words.append("one way: they see your presence")
    return "; ".join(words) or "not friends"


def _contact_row(contact: Contact) -> str:
    words, colour = PRESENCE.get(contact.presence, (contact.presence, "#9e9e9e"))
    dot = f"<span style='color:{colour};font-size:1.2em' title='{html.escape(words)}'>●</span>"
    jid = html.escape(contact.jid)
    return (
        f"<tr data-jid='{jid}' data-presence='{html.escape(contact.presence)}'>"
        f"<td>{dot} <span>{html.escape(words)}</span></td><td>{jid}</td>"
        f"<td>{html.escape(contact.status)}</td><td>{html.escape(friendship(contact))}</td></tr>"
    )


_ROW = ipywidgets.Layout(flex_flow="row wrap", align_items="center")

# what each kind of request asks, and what its parts are called
_PARTS = {"read": "fields", "control": "parameters"}


def _wants(request: FriendRequest, target: str) -> str:
    """What ``request`` asks, in words: ``wants to read temperature, humidity of lamp@lab``."""
    thing = html.escape(target)
    if request.kind not in _PARTS:
        return f"wants to befriend {thing}"
    asked = html.escape(", ".join(request.parts)) if request.parts else f"all {_PARTS[request.kind]}"
    return f"wants to {request.wants} {asked} of {thing}"


def _part_choices(request: FriendRequest) -> list[ipywidgets.Widget]:
    """A ticked checkbox per field or parameter asked; a text box to name some when all were asked."""
    kind = _PARTS.get(request.kind)
    if kind is None:
        return []  # a friendship is approved whole
    if not request.parts:
        return [ipywidgets.Text(placeholder=f"all {kind}, or name some: a, b", layout=ipywidgets.Layout(width="16em"))]
    return [
        ipywidgets.Checkbox(value=True, description=part, indent=False, layout=ipywidgets.Layout(width="auto"))
        for part in request.parts
    ]


def _chosen(parts: list[ipywidgets.Widget]) -> tuple[str, ...] | None:
    """The parts an approval allows: the ticked ones, or those named in the text box (None: all asked)."""
    if not parts:
        return None
    if isinstance(parts[0], ipywidgets.Text):
        named = tuple(name.strip() for name in parts[0].value.split(",") if name.strip())
        return named or None
    return tuple(box.description for box in parts if box.value)


def _range_choice() -> ipywidgets.Dropdown:
    """Whom the decision is for: the caller only (the default), its domain, or everyone."""
    return ipywidgets.Dropdown(
        options=[r.value for r in RuleRange], value=RuleRange.CALLER.value, layout=ipywidgets.Layout(width="7em")
    )


def _close_row(row: ipywidgets.HBox) -> None:
    for part in row.children:
        part.close()
    row.close()
