"""Who may read a thing and who may control it: the port a thing's services ask.

Services ask :meth:`Access.readable` and :meth:`Access.controllable` with the
sender of each request and what it asks for, and get back what it may have of
it (a refusal raises Forbidden); :meth:`Access.may_befriend` decides friend
requests, and :attr:`Access.owner` says who decides about strangers. They never
learn how the answers are made: by the thing's owner directly
(:class:`OwnerRules`), or by a provisioning service the thing asks, whose
answers may narrow a request to some fields or parameters
(:class:`~xiotlab.roles.provisioned.ProvisionedRules`). A concentrator's
rules per node will pass the request's ``<nd/>`` references the same way.
"""

from __future__ import annotations

from typing import Protocol

from slixmpp import JID

from ..errors import Forbidden
from ..protocol.values import Category, NodeRef
from .roster import Roster


class Access(Protocol):
    """The access port of a thing's services; each check raises Forbidden to refuse."""

    @property
    def owner(self) -> str | None:
        """The bare JID that decides about strangers (None: the thing's own policy decides)."""

    def check_reader(self, sender: JID) -> None:
        """Raise Forbidden unless ``sender`` may read sensor data and see control forms."""

    def check_controller(self, sender: JID) -> None:
        """Raise Forbidden unless ``sender`` may set control parameters."""

    async def readable(
        self, sender: JID, fields: tuple[str, ...], categories: Category, nodes: tuple[NodeRef, ...] = ()
    ) -> tuple[str, ...]:
        """The fields ``sender`` may read of ``fields`` (``()``: every field, in and out) of ``nodes``.

        ``nodes``: a concentrator's nodes the request names (``()``: the thing itself). Raises
        Forbidden if nothing may be read.
        """

    async def controllable(
        self, sender: JID, parameters: tuple[str, ...], viewing: bool = False, nodes: tuple[NodeRef, ...] = ()
    ) -> tuple[str, ...]:
        """The parameters ``sender`` may set (``viewing``: see in a form) of ``parameters`` of ``nodes``.

        Raises Forbidden if none.
        """

    async def may_befriend(self, requester: str) -> bool | None:
        """Whether ``requester`` may befriend the thing: True, False, or None to ask its owner."""


class OwnerRules:
    """The owner's rules: the owner and its friends read; the owner, and friends it allowed, control."""

    def __init__(self, thing: str, roster: Roster, owner: str | None = None) -> None:
        self.thing = thing
        self.roster = roster
        self.owner = owner
        self.controllers: set[str] = set()

    def check_reader(self, sender: JID) -> None:
        bare = sender.bare
        if bare == self.owner:
            return
        contact = self.roster.get(bare)
        if contact is None or contact.subscription not in ("from", "both"):
            raise Forbidden(f"Only friends of {self.thing} may read it: send it a friend request first.")

    def check_controller(self, sender: JID) -> None:
        if sender.bare == self.owner:
            return
        self.check_reader(sender)
        if sender.bare not in self.controllers:
            raise Forbidden(f"Only the owner of {self.thing} may control it, or friends it allowed.")

    async def readable(
        self, sender: JID, fields: tuple[str, ...], categories: Category, nodes: tuple[NodeRef, ...] = ()
    ) -> tuple[str, ...]:
        self.check_reader(sender)  # the owner's rules are the same for every node
        return fields

    async def controllable(
        self, sender: JID, parameters: tuple[str, ...], viewing: bool = False, nodes: tuple[NodeRef, ...] = ()
    ) -> tuple[str, ...]:
        (self.check_reader if viewing else self.check_controller)(sender)
        return parameters

    async def may_befriend(self, requester: str) -> bool | None:
        return True if requester == self.owner else None
