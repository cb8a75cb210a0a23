"""What a notebook's ``%xmpp`` magics act on: the lab, the participants online, their plots.

One :class:`NotebookSession` per kernel. It holds state and does the work;
:mod:`.magics` only parses lines and shows results, so everything here can be
used (and tested) from plain Python too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, TypeVar

from ..errors import LabNotRunning, NotConnected
from ..protocol import parameters
from ..protocol.values import NodeRef
from ..roles import Owner, Participant, Thing
from ..roles.claim_code import ClaimCode
from ..roles.friendship import FriendRequest
from ..roles.readout import node_label
from ..roles.stream import Stream
from ..runtime import DEFAULT_TIMEOUT
from ..server import LabServer
from .widgets.live_plot import DEFAULT_WINDOW, LivePlot, parse_seconds, parse_window
from .widgets.node_tree import NodeTree

ROLES = {"owner": Owner, "thing": Thing}
PLOT_BUFFER = 1000


class Widget(Protocol):
    """What the session keeps of a widget: it closes it when replaced or at the end."""

    def close(self) -> None: ...


W = TypeVar("W", bound=Widget)


class NotebookSession:
    """The lab and the participants one kernel brought online, the *current* one acting for ``%xmpp``.

    ``home``: the persistent lab's home to join (default ``$XIOTLAB_HOME`` or ``~/.xiotlab``).
    """

    def __init__(self, *, home: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.home = home
        self.timeout = timeout
        self.lab: LabServer | None = None
        self.lab_is_ours = False  # started by this kernel (then it stops with it)
        self.participants: dict[str, Participant] = {}
        self.current: Participant | None = None
        self.plots: dict[tuple[str, str, tuple[str, ...], NodeRef | None], LivePlot] = {}
        self.widgets: dict[tuple, Widget] = {}  # rosters, panels, inspectors: one live widget per key

    # --- the lab -----------------------------------------------------------------

    def start_lab(self, *, private: bool = False) -> LabServer:
        """Join the persistent lab if it runs (unless ``private``), else start a private one for this kernel."""
        if self.lab is not None and self.lab.status().get("running"):
            return self.lab
        if not private:
            try:
                self.lab, self.lab_is_ours = LabServer.running(self.home), False
                return self.lab
            except LabNotRunning:
                pass
        self.lab, self.lab_is_ours = LabServer().start(), True
        return self.lab

    def stop_lab(self, *, shared: bool = False) -> LabServer:
        """Take this kernel's participants offline and stop the lab it started.

        The persistent lab is shared with other notebooks: it stops only with ``shared=True``.
        """
        lab = self._need_lab()
        if not self.lab_is_ours and not shared:
            raise ValueError(
                f"The lab at {lab.home} is shared with other notebooks; stop it with "
                "`%xmpp lab stop --shared` or `xiotlab server stop`."
            )
        self.disconnect_all()
        lab.stop()
        self.lab = None
        return lab

    def _need_lab(self) -> LabServer:
        if self.lab is None:
            raise LabNotRunning("No lab in this session yet: `%xmpp lab start` starts or joins one.")
        return self.lab

    # --- participants ------------------------------------------------------------

    def connect(self, name: str, role: str = "owner", *, password: str | None = None, **options) -> Participant:
        """Bring ``name`` online as an ``"owner"`` or a ``"thing"`` and make it current.

        A bare name or a JID on the lab's domain joins the lab (no password); any other JID needs
        ``password`` and ``host``/``port``/``ca_file`` options as for :class:`~xiotlab.Participant`.
        """
        kind = ROLES.get(role)
        if kind is None:
            raise ValueError(f"--as {role}: a participant is an 'owner' or a 'thing'.")
        on_lab = password is None and not options.get("host")
        if on_lab:
            lab = options["lab"] = self.start_lab()
            name = lab.account(name).jid
        existing = self.participants.get(name)
        if existing is not None and existing.online:
            if not isinstance(existing, kind):
                raise _taken(existing)
            self.current = existing
            return existing
        participant = kind(name, password, timeout=self.timeout, **options)
        participant.start()
        self.participants[participant.jid] = self.current = participant
        return participant

    def thing(self, name: str, *, tags: Mapping[str, str | float] | None = None, **options) -> Thing:
        """The thing ``name`` of this session, made (not started) if new: what ``%%thing`` declares into.

        It is owned by ``owner=`` or else this session's owner; with ``tags`` it has no owner yet:
        it registers them in the lab's thing registry, to be claimed with its claim code.
        """
        if tags is not None and options.get("owner"):
            raise ValueError("--tags makes a thing without an owner, to be claimed: leave --owner out.")
        lab = self.start_lab()
        jid = lab.account(name).jid
        existing = self.participants.get(jid)
        if isinstance(existing, Thing):
            if (tags is not None) != _registers(existing):
                made = "with --tags, unowned" if tags is None else "with an owner"
                raise ValueError(f"{jid} runs here already, made {made}: `%xmpp disconnect {jid}` first.")
            return existing
        if existing is not None:
            raise _taken(existing)
        if tags is None:
            options["owner"] = options.pop("owner", None) or self._default_owner()
        thing = Thing(jid, lab=lab, tags=tags, timeout=self.timeout, **options)
        self.participants[jid] = thing
        return thing

    def claim_code(self, name: str) -> ClaimCode:
        """The claim code of ``name``, an unowned thing this session runs (``%%thing NAME --tags ...``)."""
        thing = self.participants.get(self.resolve(name))
        if not isinstance(thing, Thing):
            things = [p.jid for p in self.participants.values() if isinstance(p, Thing) and _registers(p)]
            raise LookupError(
                f"{name} is not a thing of this notebook; ones with a claim code: {', '.join(things) or 'none'} "
                "(`%%thing NAME --tags MAN=...,MODEL=...` makes one)."
            )
        if not _registers(thing):
            raise ValueError(f"{thing.jid} was made with an owner: only a thing made with --tags has a claim code.")
        return thing.claim_qr()

    def _default_owner(self) -> str | None:
        owners = [p for p in self.participants.values() if isinstance(p, Owner)]
        if isinstance(self.current, Owner):
            return self.current.jid
        return owners[-1].jid if owners else None

    def disconnect(self, name: str | None = None) -> Participant:
        """Take ``name`` (default: the current participant) offline."""
        participant = self.current if name is None else self.participants.get(self.resolve(name))
        if participant is None:
            raise NotConnected(
                f"{name or 'Nobody'} is not online in this session: "
                f"online here: {', '.join(self.participants) or 'nobody'}."
            )
        participant.stop()
        self.participants.pop(participant.jid, None)
        if self.current is participant:  # the last owner acts next: most commands are an owner's
            remaining = sorted(self.participants.values(), key=lambda p: isinstance(p, Owner))
            self.current = remaining[-1] if remaining else None
        return participant

    def disconnect_all(self) -> None:
        for plot in self.plots.values():
            plot.close()
        for widget in self.widgets.values():
            widget.close()
        self.plots.clear()
        self.widgets.clear()
        for participant in list(self.participants.values()):
            participant.stop()
        self.participants.clear()
        self.current = None

    def resolve(self, name: str) -> str:
        """A bare JID: a bare name is an account on the current participant's (or the lab's) domain."""
        if "@" in name:
            return name.split("/")[0]
        if self.current is not None:
            return self.current.resolve(name)
        if self.lab is not None:
            return f"{name}@{self.lab.domain}"
        return name

    def need_current(self) -> Participant:
        if self.current is None or not self.current.online:
            raise NotConnected("Nobody is online in this session: `%xmpp connect alice --as owner` first.")
        return self.current

    def need_owner(self, action: str) -> Owner:
        participant = self.need_current()
        if not isinstance(participant, Owner):
            raise ValueError(
                f"Only an owner can {action}; {participant.jid} is a thing. `%xmpp connect NAME --as owner` first."
            )
        return participant

    # --- what owners do ----------------------------------------------------------

    def node(self, jid: str, node: str | None) -> NodeRef | None:
        """Node ``node`` of concentrator ``jid``, checked against its node list (None for None).

        A node it does not have raises LookupError listing those it has; a ``jid`` that is no
        concentrator, :class:`~xiotlab.errors.StanzaError`. The reference returned names the
        node's data source too.
        """
        if node is None:
            return None
        owner = self.need_owner("reach a concentrator's nodes")
        try:
            return owner.nodes(jid).get(node).node
        except KeyError as e:
            raise LookupError(e.args[0]) from None

    def nodes(self, jid: str) -> NodeTree:
        """The node tree of concentrator ``jid``: a fresh widget each time (the one before is closed)."""
        owner = self.need_owner("browse a concentrator")
        return self.widget(("nodes", owner.jid, self.resolve(jid)), lambda: NodeTree(owner, jid))

    def typed_values(self, jid: str, assignments: dict[str, str], node: NodeRef | None = None) -> dict[str, object]:
        """``NAME=TEXT`` pairs typed by the thing's (or its node's) control form (``on=true`` sends a boolean)."""
        owner = self.need_owner("set controls")
        form = owner.control_form(jid, node=node)
        typed = {}
        for name, text in assignments.items():
            parameter = form.get(name)
            if parameter is None:
                known = ", ".join(p.name for p in form.parameters) or "none"
                whose = f"{jid} node {node_label(node)}" if node else jid
                raise ValueError(f"{whose} has no control parameter {name!r}; it has: {known}.")
            try:
                typed[name] = parameters.from_lexical(parameter.type, _lexical(parameter.type, text))
            except (TypeError, ValueError) as e:
                raise ValueError(f"{name}={text}: not a {parameter.type} value ({e}).") from None
        return typed

    def plot(
        self, jid: str, fields: Iterable[str], *, window=DEFAULT_WINDOW, node: NodeRef | None = None, **subscription
    ) -> LivePlot:
        """A live plot of ``fields`` of ``jid`` (of its ``node``): the same figure each time it is asked for again."""
        owner = self.need_owner("plot a thing's values")
        fields = tuple(fields)
        key = (owner.jid, self.resolve(jid), fields, node)
        parse_window(window)  # a mistake in it must not leave a subscription behind
        plot = self.plots.get(key)
        if plot is not None and not plot.redraws.closed and plot.stream is not None and not plot.stream.ended:
            return plot
        # The plot reads values as they arrive; the stream's own buffer only needs to be small.
        subscription.setdefault("buffer", PLOT_BUFFER)
        if node is not None:
            subscription["nodes"] = [node]
        stream = owner.subscribe(jid, list(fields) or None, **subscription)
        if plot is None or plot.redraws.closed:
            title = f"{key[1]} · {node_label(node)}" if node else key[1]
            plot = self.plots[key] = LivePlot(stream, fields or None, window=window, title=title, node=node)
        else:
            plot.follow(stream)
        return plot

    def pending(self, requester: str, *, kind: str | None = None, thing: str | None = None) -> FriendRequest:
        """The oldest request waiting for the current owner from ``requester`` (of ``kind``, about ``thing``)."""
        owner = self.need_owner("decide requests")
        requester = self.resolve(requester)
        about = self.resolve(thing) if thing else None
        found = owner.requests.find(requester, about, kind)
        if found is None:
            what = f"{kind} request" if kind else "request"
            waiting = ", ".join(f"{r.requester} ({r.kind} {r.thing})" for r in owner.requests) or "none"
            raise LookupError(
                f"No {what} from {requester}{f' about {about}' if about else ''} is waiting; waiting: {waiting}."
            )
        return found

    def decide(
        self,
        requester: str,
        approve: bool,
        range: str = "Caller",
        *,
        kind: str | None = None,
        thing: str | None = None,
        fields: Iterable[str] | None = None,
        parameters: Iterable[str] | None = None,
    ) -> FriendRequest:
        """Approve (or reject) the oldest matching request; ``fields``/``parameters`` approve it in part."""
        request = self.pending(requester, kind=kind, thing=thing)
        if not approve:
            request.reject(range)
            return request
        given = {
            name: tuple(parts) for name, parts in (("fields", fields), ("parameters", parameters)) if parts is not None
        }
        for name, parts in given.items():
            wanted = {"fields": "read", "parameters": "control"}[name]
            if request.kind != wanted:
                raise ValueError(
                    f"--{name} is for a {wanted} request; {request.requester} asks to {request.wants} "
                    f"{request.thing}: approve that whole{'' if kind else f', or add --kind {wanted}'}."
                )
            if not parts or any(request.parts and part not in request.parts for part in parts):
                asked = ", ".join(request.parts) or "anything"
                raise ValueError(
                    f"--{name} {','.join(parts)}: name some of what {request.requester} asked for: {asked}."
                )
        request.approve(range, **given)
        return request

    def widget(self, key: tuple, make: Callable[[], W]) -> W:
        """The widget ``make()`` returns, replacing (and closing) the one made for ``key`` before.

        A cell run again shows a fresh widget; the old one would otherwise keep following its source.
        """
        old = self.widgets.pop(key, None)
        if old is not None:
            old.close()
        self.widgets[key] = widget = make()
        return widget

    def set_timeout(self, seconds: float) -> None:
        """The timeout of new participants and of those already online."""
        self.timeout = seconds
        for participant in self.participants.values():
            participant.timeout = seconds

    def subscribe(self, jid: str, fields: Iterable[str], **options) -> Stream:
        return self.need_owner("subscribe to a thing").subscribe(jid, list(fields) or None, **options)

    def __repr__(self) -> str:
        lab = f"lab {self.lab.domain}" if self.lab else "no lab"
        current = self.current.jid if self.current else "nobody"
        return f"<NotebookSession {lab}, {len(self.participants)} online, acting as {current}>"


def split_node(target: str, node: str | None = None) -> tuple[str, str | None]:
    """``("gateway", "kitchen/fridge")`` from ``"gateway/kitchen/fridge"``: a JID and the node after it.

    Everything after the first slash is the node (node ids may hold slashes), so a JID here is
    never written with a resource. ``node`` (``--node``) names it instead, or says the same again.
    """
    jid, slash, named = target.partition("/")
    if not jid:
        raise ValueError(f"{target!r}: name the thing first, then its node: gateway/kitchen")
    if slash and not named:
        raise ValueError(f"{target!r}: the node's id goes after the slash, e.g. {jid}/kitchen (or --node kitchen)")
    if node is not None and not node:
        raise ValueError("--node: give the node's id, e.g. --node kitchen")
    if named and node is not None and node != named:
        raise ValueError(f"{target!r} names node {named!r} and --node names {node!r}: name it once.")
    return jid, named or node


def _registers(thing: Thing) -> bool:
    """Whether ``thing`` was made with tags (unowned, registered, with a claim code)."""
    try:
        return bool(thing.claim_uri)
    except ValueError:
        return False


def parse_tags(text: str) -> dict[str, str | float]:
    """``MAN=Acme,MODEL=T1,#V=1.0`` (``,`` or ``;`` between pairs) as tags; ``#`` before a name: a number."""
    tags: dict[str, str | float] = {}
    for pair in text.replace(";", ",").split(","):
        if not pair.strip():
            continue
        name, equals, value = (part.strip() for part in pair.partition("="))
        if not equals or not name.lstrip("#"):
            raise ValueError(f"--tags {pair.strip()!r}: write each tag as NAME=VALUE, e.g. MAN=Acme,MODEL=T1,#V=1.0")
        if name.startswith("#"):
            try:
                tags[name[1:]] = float(value)
            except ValueError:
                raise ValueError(
                    f"--tags {pair.strip()!r}: a # before the name makes a number; {value!r} is not one."
                ) from None
        else:
            tags[name] = value
    if not tags:
        raise ValueError("--tags: give at least one tag, e.g. --tags MAN=Acme,MODEL=T1,SN=42")
    return tags


def _taken(existing: Participant) -> ValueError:
    return ValueError(
        f"{existing.jid} is online here as an {type(existing).__name__.lower()}; "
        f"`%xmpp disconnect {existing.jid}` first."
    )


_BOOLEANS = {"on": "true", "yes": "true", "off": "false", "no": "false"}


def _lexical(kind, text: str) -> str:
    """Friendlier spellings of lexical values (``on``/``off`` for booleans)."""
    if kind is parameters.ParameterType.BOOLEAN:
        return _BOOLEANS.get(text.lower(), text.lower())
    return text


def as_seconds(text: str | None) -> float | None:
    """``"5"``, ``"5s"``, ``"2min"`` as seconds (for intervals in magic lines)."""
    if text is None:
        return None
    seconds = parse_seconds(text)
    if seconds is None:
        raise ValueError(f"{text!r}: give a time such as 0, 5, 5s, 250ms or 2min")
    return seconds
