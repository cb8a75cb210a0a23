"""``Thing``: a device on the network — sensors, controls, and friends its owner chose.

The protocols are served by one service each, on the thing's connection:
:mod:`.ownership` (friend requests), :mod:`.sensing` (readouts and
subscriptions), :mod:`.controls` (set and forms), :mod:`.chat` (the same, typed
by a person in any XMPP client). Each sees the client and
the thing's access rules (:mod:`.access`), nothing else; this class is their
public face.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..errors import XmppError
from ..protocol import provisioning_device, registry
from ..protocol.roster import build_roster_remove
from ..protocol.values import Field
from ..runtime import network
from ..runtime.connection import State
from .access import OwnerRules
from .chat import ChatService
from .claim_code import ClaimCode
from .controls import ControlService
from .device import Device
from .friendship import Policy, policy_check
from .ownership import FriendshipService
from .participant import Participant
from .provisioned import ProvisionedRules, ProvisioningObeyed
from .registration import Registration, tags_of
from .sensing import SensorService
from .sensors import DEFAULT_HISTORY
from .timers import Timers

Handler = TypeVar("Handler", bound=Callable[..., Any])
log = logging.getLogger("xiotlab")


def _wait_for_an_owner(requester: str) -> None:
    """The policy of a thing waiting to be claimed: requests wait for its owner's rules."""
    return None


class Thing(Participant, Device):
    """A device: it measures, can be controlled, and is befriended under its owner's control.

    Parameters
    ----------
    jid, password, lab, host, port, ca_file, status, timeout:
        As for every participant (see :class:`~xiotlab.roles.participant.Participant`).
    owner:
        The owner's JID (a bare name means one on the same domain). The owner is accepted
        as a friend at once; others' requests are forwarded to the owner to decide.
    policy:
        Without an owner: ``"deny"`` (the default), ``"accept"``, or a list of allowed
        JIDs and domains.
    tags:
        Without an owner: the thing's meta data (``{"MAN": "Acme", "MODEL": "T1", "SN": "42",
        "V": 1.0}``; numbers become numeric tags). The thing then comes factory-fresh: it
        registers in the thing registry of its domain, shows its claim code (:meth:`claim_qr`),
        and once claimed asks the provisioning service what its owner allows others.
    key:
        The secret KEY of the claim code. By default one is made once and kept in the lab
        home (a thing outside a lab makes a new one each run).
    history_size:
        How many values each field keeps for historical readouts.

    >>> thermometer = Thing("thermometer", owner="alice", lab=lab)     # doctest: +SKIP
    >>> @thermometer.sensor("temperature", unit="°C", decimals=1)
    ... def temperature():
    ...     return 21.5
    >>> thermometer.start()
    >>> thermometer.report(temperature=21.7)                          # pushed to subscribers
    """

    def __init__(
        self,
        jid: str,
        password: str | None = None,
        *,
        owner: str | None = None,
        policy: Policy = "deny",
        history_size: int = DEFAULT_HISTORY,
        tags: Mapping[str, str | float] | None = None,
        key: str | None = None,
        **options,
    ) -> None:
        super().__init__(jid, password, **options)
        self.policy = policy
        self._registration: Registration | None = None
        self._access: OwnerRules | ProvisionedRules
        allowed: Callable[[str], bool | None] = policy_check(policy)
        if owner is None and tags is not None:
            self._access = ProvisionedRules(self.jid, self.roster, self._ask_provisioning)
            key = key or (self._lab.thing_key(self.jid) if self._lab else registry.new_key())
            self._registration = Registration(self._client, self._peers, tags_of(tags, key), self._on_owner)
            # A recommended friend is asked, not let in in advance: its own request goes to the service again.
            obeyed = ProvisioningObeyed(self._client, self._access, self._client.ask_friend, self._drop_friend)
            self._attach(self._registration, obeyed)
            allowed = _wait_for_an_owner
        else:
            self._access = OwnerRules(self.jid, self.roster, self.resolve(owner) if owner else None)
        self._friendship = FriendshipService(self._client, self._access, allowed)
        self._history_size = history_size
        self._sensing, self._control_service = self._services()
        self._sensors, self._controls = self._sensing.sensors, self._control_service.own
        self._chat = ChatService(self._client, self._access, self._sensing.sensors, self._control_service)
        self._attach(self._friendship, self._sensing, self._control_service, self._chat)
        self._timers = Timers(self.jid, self.report)
        # A device keeps measuring while its connection is being taken back; it stops when it goes offline.
        self.connection.observe(self._on_connection_state)

    def _services(self) -> tuple[SensorService, ControlService]:
        """The services that answer readouts and control (a concentrator's also reach its nodes)."""
        sensing = SensorService(self._client, self._access, self._history_size, peer_features=self._peers.features)
        return sensing, ControlService(self._client, self._access)

    @property
    def owner(self) -> str | None:
        """The owner's bare JID, or None for a thing that has none (a bare name means one on this domain)."""
        return self._access.owner

    @owner.setter
    def owner(self, jid: str | None) -> None:
        self._own_rules().owner = self.resolve(jid) if jid else None

    def _own_rules(self) -> OwnerRules:
        if not isinstance(self._access, OwnerRules):
            raise ValueError(
                f"{self.jid} is governed by its registry and provisioning service: its owner is whoever "
                "claimed it, and the owner's rules there say who may do what."
            )
        return self._access

    def _on_connection_state(self, _connection, state: State) -> None:
        if state is State.OFFLINE:
            self._timers.stop()

    async def _on_online(self) -> None:
        self._timers.start()
        if self._registration is not None:
            await self._enter_registry()

    # --- registry and provisioning (a thing made with tags) -------------------------

    @property
    def claim_uri(self) -> str:
        """The ``iotdisco:`` URI that claims this thing: its tags, its KEY, its registry.

        Whoever has it can claim the thing (``owner.claim(uri)``): show it to its owner only.
        """
        return self._need_registration().claim_uri

    def claim_qr(self) -> ClaimCode:
        """The claim URI as a QR code: shows in a notebook, ``.save("thing.png")`` writes it."""
        return ClaimCode(self.claim_uri)

    @property
    def registry(self) -> str | None:
        """The address of the thing registry it registered with (None before, or without tags)."""
        return self._registration.registry if self._registration else None

    @property
    def provisioning(self) -> str | None:
        """The address of the provisioning service it asks about others (None before it found one)."""
        return self._access.service if isinstance(self._access, ProvisionedRules) else None

    @property
    def registered(self) -> bool:
        """Whether the thing is listed in its registry now."""
        return bool(self._registration and self._registration.registered)

    def _need_registration(self) -> Registration:
        if self._registration is None:
            raise ValueError(f"{self.jid} was made with an owner (or without tags): it has no claim code.")
        return self._registration

    async def _enter_registry(self) -> None:
        assert self._registration is not None and isinstance(self._access, ProvisionedRules)
        self._access.clear()  # rules may have changed while we were away, and no clearCache could reach us
        try:
            self._access.service = await self._peers.find_service(provisioning_device.NAMESPACES, self.timeout)
            await self._registration.register_now(self.timeout)
        except XmppError as e:
            log.warning("%s could not register in its thing registry: %s", self.jid, e)

    async def _ask_provisioning(self, service: str, question: ET.Element) -> ET.Element | None:
        return await self._peers.request(service, "get", question, self.timeout)

    def _on_owner(self, owner: str | None) -> None:
        """The registry says who owns the thing now (None: disowned)."""
        assert isinstance(self._access, ProvisionedRules)
        previous, self._access.owner = self._access.owner, owner
        self._access.clear()
        if owner is not None:
            self._client.accept_friend(owner)  # befriend the owner; its own request is accepted at once
            self._friendship.decide_waiting()
        elif previous is not None:
            self._drop_friend(previous)

    def _drop_friend(self, jid: str) -> None:
        """End a friendship the thing's owner no longer wants (network thread)."""
        network.spawn(self._peers.request(None, "set", build_roster_remove(jid), self.timeout))

    # --- what the device mixin asks of its host ----------------------------------------

    @property
    def _label(self) -> str:
        return self.jid

    def _push(self, fields: list[Field]) -> None:
        self._sensing.report(fields)

    # --- control by friends -----------------------------------------------------------

    def allow_control(self, jid: str) -> None:
        """Let friend ``jid`` set controls too (by default only the owner may)."""
        self._own_rules().controllers.add(self.resolve(jid))

    def deny_control(self, jid: str) -> None:
        """Take back :meth:`allow_control`."""
        self._own_rules().controllers.discard(self.resolve(jid))

    # --- friend requests (network thread) -----------------------------------

    def _decide(self, requester: str) -> None:
        self._friendship.decide(requester)
