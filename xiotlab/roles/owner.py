"""``Owner``: a person who befriends things, decides who else may, reads them, watches and controls them.

Reading and control are services (:mod:`.reading`, :mod:`.commanding`) that
reach things through the :class:`~xiotlab.roles.peers.Peers` port; this
class is their public face, and decides friend requests itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from slixmpp import Message

from ..errors import ProtocolError, TimedOut
from ..protocol import provisioning
from ..protocol.concentrator import NodeCommand
from ..protocol.control import SetResponse
from ..protocol.parameters import ControlForm
from ..protocol.values import Category, NodeRef
from ..runtime import blocking, network, network_call
from .browsing import NodeBrowser, Nodes
from .claiming import RegistryClient, SearchResult
from .commanding import ControlClient
from .deciding import ProvisioningClient
from .friendship import FriendRequest, FriendRequests, Parts, rule_range
from .participant import Participant
from .reading import SensorClient
from .readout import Readout, as_node, as_nodes
from .stream import DEFAULT_BUFFER, Stream

NodeSelection = NodeRef | str | Iterable[NodeRef | str] | None
"""A concentrator node or nodes: a node id, a NodeRef, or an iterable of them; None for none."""


def _one_node(node: NodeRef | str | None) -> NodeRef | None:
    return None if node is None else as_node(node)


class Owner(Participant):
    """A person in the lab: befriends things, answers their friend requests.

    ``owner.requests`` lists what waits for a decision: requests forwarded by the
    owner's things (they arrive at login if they were sent while the owner was
    away), and requests to befriend the owner itself. Parameters are those of
    every participant (see :class:`~xiotlab.roles.participant.Participant`).

    >>> with Owner("alice", lab=lab) as alice:       # doctest: +SKIP
    ...     alice.befriend("lamp")
    ...     for request in alice.requests:
    ...         request.approve()
    """

    def __init__(self, jid: str, password: str | None = None, **options) -> None:
        super().__init__(jid, password, **options)
        # A person's client in service discovery (XEP-0030 registry: "client/pc"), not a device's "bot".
        self._client.set_identity("client", "pc")
        self.requests = FriendRequests()
        self._sensors = SensorClient(self._client, self._peers)
        self._controls = ControlClient(self._client, self._peers)
        self._registry = RegistryClient(self._client, self._peers)
        self._deciding = ProvisioningClient(self._client, self._peers, self.requests.add, self._request)
        self._browser = NodeBrowser(self._client, self._peers)
        self._attach(self._sensors, self._controls, self._registry, self._deciding, self._browser)
        for ns in provisioning.NAMESPACES:
            self._client.on("message", f"{{{ns}}}isFriend", self._on_question)
        self.roster.observe(self._drop_answered)

    def _drop_answered(self, _roster, jid: str) -> None:
        """A request to befriend us is settled once the friendship holds (we asked them back meanwhile)."""
        contact = self.roster.get(jid)
        if contact is not None and contact.subscription in ("from", "both"):
            waiting = self.requests.find(jid, thing=self.jid, kind="friend")
            if waiting is not None:
                self.requests.remove(waiting)

    def _request(self, kind: type[FriendRequest], **fields: Any) -> FriendRequest:
        return kind(**fields, _owner=self)

    # --- sensor data ------------------------------------------------------

    @network_call
    async def aread(
        self,
        jid: str,
        fields: str | Iterable[str] | None = None,
        categories: Category | str | Iterable[str] | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        nodes: NodeSelection = None,
        timeout: float | None = None,
    ) -> Readout:
        """Read friend ``jid``'s sensors and return the :class:`Readout`.

        ``fields``: a name or names (default all); ``categories``: ``"momentary"``, ``"status"``,
        ``"historical"``, ... (default all); ``start``/``end``: only values stamped between them,
        which asks for history. ``nodes``: of a concentrator, the node or nodes to read (a node id
        or a :class:`~xiotlab.protocol.values.NodeRef`, or several); without them a concentrator
        reports only its own fields. Each field says its node (``field.node``); see
        :meth:`Readout.node`. A node it does not have comes back as a readout error naming it.
        """
        await self._ready()
        return await self._sensors.read(jid, fields, categories, start, end, self._timeout(timeout), as_nodes(nodes))

    @network_call
    async def asubscribe(
        self,
        jid: str,
        fields: str | Iterable[str] | None = None,
        *,
        categories: Category | str | Iterable[str] | None = None,
        min_interval: float | dt.timedelta | None = None,
        max_interval: float | dt.timedelta | None = None,
        change: float | Mapping[str, float] | None = None,
        buffer: int = DEFAULT_BUFFER,
        nodes: NodeSelection = None,
        timeout: float | None = None,
    ) -> Stream:
        """Subscribe to friend ``jid``'s values as they change; returns a live :class:`Stream`.

        ``fields``: a name or names (default all). ``change``: the least change that fires an
        event, one number for every field or a dict by name (default: any change).
        ``min_interval``/``max_interval``: seconds (or timedelta) between events at least / at
        most; past ``max_interval`` the thing sends a fresh readout. ``buffer``: how many values
        the stream keeps for you before it drops the oldest. ``nodes``: of a concentrator, the
        node or nodes to watch (as for :meth:`read`); each value says its node (``field.node``).
        """
        await self._ready()
        return await self._sensors.subscribe(
            jid, fields, categories, min_interval, max_interval, change, buffer, self._timeout(timeout), as_nodes(nodes)
        )

    read = blocking(aread)
    subscribe = blocking(asubscribe)

    # --- control ----------------------------------------------------------

    @network_call
    async def acontrol_form(
        self, jid: str, timeout: float | None = None, *, node: NodeRef | str | None = None
    ) -> ControlForm:
        """Friend ``jid``'s control parameters: types, ranges, options and current values.

        ``node``: of a concentrator, that node's (a node id or a :class:`~xiotlab.protocol.values.NodeRef`).
        """
        await self._ready()
        return await self._controls.form(jid, self._timeout(timeout), node=_one_node(node))

    @network_call
    async def aset(
        self,
        jid: str,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        node: NodeRef | str | None = None,
        timeout: float | None = None,
        **parameters: Any,
    ) -> SetResponse | None:
        """Set control parameters of ``jid``: ``set("lamp", on=True, brightness=40)``.

        A mapping sets the same and reaches any name: ``set("oven", {"timeout": 30})``.
        The thing checks the values; a refusal raises :class:`~xiotlab.errors.ParameterError`
        naming the parameter and saying why. ``node``: of a concentrator, the node to set
        (a node id or a :class:`~xiotlab.protocol.values.NodeRef`): ``set("hub", node="lamp", on=True)``;
        a parameter named ``node`` goes in the mapping.
        """
        await self._ready()
        if values is not None and not isinstance(values, Mapping):
            raise TypeError(f"set({jid!r}, {values!r}): pass values as keywords or a mapping; timeout is a keyword.")
        both = set(values or ()) & set(parameters)
        if both:
            raise ValueError(f"{', '.join(sorted(both))}: given both in the mapping and as a keyword; give each once.")
        return await self._controls.set(jid, {**(values or {}), **parameters}, self._timeout(timeout), _one_node(node))

    control_form = blocking(acontrol_form)
    set = blocking(aset)

    # --- concentrators ----------------------------------------------------

    @network_call
    async def anodes(self, jid: str, timeout: float | None = None) -> Nodes:
        """The nodes of friend ``jid``, a concentrator: a list of node descriptions that is also a tree.

        Each has ``id``, ``source``, ``partition``, ``parent_id``, ``display_name``, ``node_type``,
        ``state`` and ``has_children``, and ``node``, the reference to read, watch or control it by
        (``read(jid, nodes=info.node)``). The list answers ``roots()``, ``children(node)``,
        ``parent(node)`` and ``find(node)``, and shows as an indented tree. A friend that is no
        concentrator raises :class:`~xiotlab.errors.StanzaError` (``feature-not-implemented``).
        """
        await self._ready()
        return await self._browser.nodes(jid, self._timeout(timeout))

    @network_call
    async def acommands(self, jid: str, node: str | NodeRef, timeout: float | None = None) -> tuple[NodeCommand, ...]:
        """The commands node ``node`` of concentrator ``jid`` offers (``command`` id and ``name``)."""
        await self._ready()
        return await self._browser.commands(jid, as_node(node), self._timeout(timeout))

    @network_call
    async def aexecute(self, jid: str, command: str, *, node: str | NodeRef, timeout: float | None = None) -> None:
        """Run ``command`` of node ``node`` of concentrator ``jid`` (controllers only: the owner, friends allowed)."""
        await self._ready()
        await self._browser.execute(jid, command, as_node(node), self._timeout(timeout))

    nodes = blocking(anodes)
    commands = blocking(acommands)
    execute = blocking(aexecute)

    # --- requests (network thread) ------------------------------------------

    def _decide(self, requester: str) -> None:
        self.requests.add(FriendRequest(thing=self.jid, requester=requester, _owner=self))

    def _on_question(self, message: Message, element) -> None:
        thing = message["from"].bare
        contact = self.roster.get(thing)
        if contact is None or contact.subscription not in ("from", "both"):
            # Not one of our things asking for itself: perhaps our provisioning service, for one.
            network.spawn(self._deciding.believe(thing, element))
            return
        try:
            question = provisioning.parse_is_friend(element)
        except ProtocolError:
            return
        if question.jid.split("/")[0] != thing:
            return  # a thing asks only about itself
        self.requests.add(FriendRequest(thing=thing, requester=question.remote_jid, key=question.key, _owner=self))

    # --- deciding ---------------------------------------------------------

    @network_call
    async def aapprove(
        self, request: FriendRequest | str, range="Caller", parts: Parts = None, timeout: float | None = None
    ) -> None:
        """Approve a pending request (or the oldest from this requester JID).

        ``parts``: for a read or control request, only these fields or parameters.
        """
        await self._answer(request, True, rule_range(range), timeout, parts)

    @network_call
    async def areject(self, request: FriendRequest | str, range="Caller", timeout: float | None = None) -> None:
        """Reject a pending request (or the one from this requester JID)."""
        await self._answer(request, False, rule_range(range), timeout)

    approve = blocking(aapprove)
    reject = blocking(areject)

    @network_call
    async def anext_request(self, timeout: float | None = None) -> FriendRequest:
        """The oldest pending friend request, waiting for one if there is none yet."""
        timeout = self.timeout if timeout is None else timeout
        try:
            return await self.requests.next(timeout)
        except TimeoutError:
            raise TimedOut(f"No friend request reached {self.jid} within {timeout:g} s.") from None

    next_request = blocking(anext_request)

    async def _answer(self, request, result: bool, range_, timeout, parts: Parts = None) -> None:
        await self._ready()
        request = self._find(request)
        if request.service is not None:
            await self._deciding.answer(request, result, range_, parts, self._timeout(timeout))
        elif request.thing == self.jid:
            (self._client.accept_friend if result else self._client.refuse_friend)(request.requester)
        else:
            rule = provisioning.IsFriendRule(
                jid=request.thing, remote_jid=request.requester, key=request.key or "", result=result, range=range_
            )
            await self._send_rule(request.thing, provisioning.build_is_friend_rule(rule), timeout)
        self.requests.remove(request)

    async def _send_rule(self, thing: str, element, timeout) -> None:
        resources = self.roster[thing].resources if thing in self.roster else ()
        if resources:
            # Online: an iq to the device itself (a bare JID would be answered by its server).
            await self.asend_iq(f"{thing}/{resources[-1]}", element, "set", timeout)  # its newest connection
        else:
            # Offline: a message waits in offline storage until the thing logs in.
            self._client.send_message(thing, [element])

    # --- the registry and the provisioning service ------------------------------

    @network_call
    async def aclaim(self, uri: str, public: bool = True, timeout: float | None = None) -> str:
        """Claim the thing whose claim code is ``uri`` (``iotdisco:...``, from its QR code); its JID.

        The registry tells the thing who its owner is; the friendship then holds both ways
        when this returns. ``public``: others may find the thing by searching its tags.
        """
        await self._ready()
        timeout = self._timeout(timeout)
        thing = await self._registry.claim(uri, public, timeout)
        await self.abefriend(thing, timeout)
        return thing

    @network_call
    async def asearch(self, query: str, timeout: float | None = None) -> SearchResult:
        """Things in the registry whose tags match ``query``.

        The specification's search syntax, ``"MAN=Acme;MODEL~Therm*;#V>=1.0"`` (``=`` equals,
        ``~`` a wildcard mask, ``<``/``>`` bounds, ``#`` before a numeric tag), or keywords
        (``"thermometer acme"``: any tag containing each word). Returns entries with jid and tags.
        """
        await self._ready()
        return await self._registry.search(query, self._timeout(timeout))

    @network_call
    async def adisown(self, jid: str, timeout: float | None = None) -> None:
        """Give thing ``jid`` up: it acknowledges, forgets you, and can be claimed again."""
        await self._ready()
        await self._registry.disown(self.resolve(jid), self._timeout(timeout))

    @network_call
    async def aremove(self, jid: str, timeout: float | None = None) -> None:
        """Take thing ``jid`` out of the registry (no longer found by searches); it stays yours."""
        await self._ready()
        await self._registry.remove(self.resolve(jid), self._timeout(timeout))

    @network_call
    async def adevices(self, timeout: float | None = None) -> list[str]:
        """The JIDs of the things you own, as the provisioning service knows them."""
        await self._ready()
        return await self._deciding.devices(self._timeout(timeout))

    @network_call
    async def adelete_rules(self, jid: str | None = None, timeout: float | None = None) -> None:
        """Forget every rule you made for thing ``jid`` (None: for all your things); it asks you again."""
        await self._ready()
        await self._deciding.delete_rules(self.resolve(jid) if jid else None, self._timeout(timeout))

    @network_call
    async def aclear_cache(self, jid: str | None = None, timeout: float | None = None) -> None:
        """Have thing ``jid`` (None: all yours) forget the answers it was given, and ask again."""
        await self._ready()
        await self._deciding.clear_cache(self.resolve(jid) if jid else None, self._timeout(timeout))

    claim = blocking(aclaim)
    search = blocking(asearch)
    disown = blocking(adisown)
    remove = blocking(aremove)
    devices = blocking(adevices)
    delete_rules = blocking(adelete_rules)
    clear_cache = blocking(aclear_cache)

    def _find(self, request: FriendRequest | str) -> FriendRequest:
        if isinstance(request, FriendRequest):
            return request
        found = self.requests.find(self.resolve(request))
        if found is None:
            raise ValueError(f"No pending friend request from {request}; see `owner.requests`.")
        return found
