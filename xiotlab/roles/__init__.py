"""Roles layer: the participants of a lab, built on the runtime.

:class:`Thing` (a device) and :class:`Owner` (a person), with their rosters and
friend requests.
"""

from . import lab as lab  # the lab's registry and provisioning services: every lab started from now on runs them
from .friendship import FriendRequest, FriendRequests
from .owner import Owner
from .participant import Participant
from .roster import Contact, Roster
from .thing import Thing

__all__ = ["Contact", "FriendRequest", "FriendRequests", "Owner", "Participant", "Roster", "Thing"]
