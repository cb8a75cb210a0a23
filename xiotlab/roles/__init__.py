"""Roles layer: the participants of a lab, built on the runtime.

:class:`Thing` (a device) and :class:`Owner` (a person), with their rosters and
friend requests.
"""

from .friendship import FriendRequest, FriendRequests
from .owner import Owner
from .participant import Participant
from .roster import Contact, Roster
from .thing import Thing

__all__ = ["Contact", "FriendRequest", "FriendRequests", "Owner", "Participant", "Roster", "Thing"]
