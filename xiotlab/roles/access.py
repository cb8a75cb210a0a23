"""Who may read a thing and who may control it: the port a thing's services ask.

Services call :meth:`Access.check_reader` and :meth:`Access.check_controller`
with the sender of each request, and ask :attr:`Access.owner` who decides
about strangers; they never learn how the answers are made. Today the
thing's owner decides (:class:`OwnerRules`). What comes next has its place
here, behind the same services: a **provisioning service** that the thing
asks about strangers (an implementation of this port; its answers may narrow
a request to some fields or parameters, so the checks will take the request
and return what is allowed of it), and a **concentrator**, whose rules are
per node (the request's ``<nd/>`` references, passed along the same way).
"""

from __future__ import annotations

from typing import Protocol

from slixmpp import JID

from ..errors import Forbidden
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
