"""Friend requests waiting for an owner's decision, and the policies of ownerless things."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..protocol.provisioning import RuleRange
from ..runtime import Observable


class Decider(Protocol):
    """Who answers friend requests: an :class:`~xiotlab.roles.owner.Owner`."""

    @property
    def jid(self) -> str: ...

    def approve(self, request: FriendRequest, range: RuleRange | str) -> None: ...

    def reject(self, request: FriendRequest, range: RuleRange | str) -> None: ...

    async def aapprove(self, request: FriendRequest, range: RuleRange | str) -> None: ...

    async def areject(self, request: FriendRequest, range: RuleRange | str) -> None: ...


@dataclass(eq=False)
class FriendRequest:
    """``requester`` asks to befriend ``thing``; the owner decides with :meth:`approve` or :meth:`reject`.

    When ``thing`` is the owner's own JID, the request is for the owner itself.
    """

    thing: str
    requester: str
    key: str | None = None
    _owner: Decider | None = field(default=None, repr=False)

    def approve(self, range: RuleRange | str = RuleRange.CALLER) -> None:
        """Let ``requester`` befriend ``thing``. ``range``: also for its whole domain ("Domain") or anyone ("All")."""
        self._decider().approve(self, range)

    def reject(self, range: RuleRange | str = RuleRange.CALLER) -> None:
        """Refuse the request (and, with ``range``, similar future ones)."""
        self._decider().reject(self, range)

    async def aapprove(self, range: RuleRange | str = RuleRange.CALLER) -> None:
        """Awaitable form of :meth:`approve`."""
        await self._decider().aapprove(self, range)

    async def areject(self, range: RuleRange | str = RuleRange.CALLER) -> None:
        """Awaitable form of :meth:`reject`."""
        await self._decider().areject(self, range)

    def _decider(self) -> Decider:
        if self._owner is None:
            raise ValueError(f"{self!r} was made by hand: only an Owner's own requests can be answered.")
        return self._owner

    def __repr__(self) -> str:
        target = "you" if self._owner is not None and self.thing == self._owner.jid else self.thing
        return f"<FriendRequest {self.requester} → {target}>"


class FriendRequests(Observable):
    """An owner's pending friend requests, oldest first; observers get ``(requests, request)``."""

    def __init__(self) -> None:
        super().__init__()
        self._items: list[FriendRequest] = []
        self._arrived: list[asyncio.Future] = []

    def add(self, request: FriendRequest) -> None:
        if any(r.thing == request.thing and r.requester == request.requester for r in self._items):
            return  # asked again (a thing re-asks at each login): one request is enough
        self._items.append(request)
        for waiter in self._arrived:
            if not waiter.done():
                waiter.set_result(request)
        self._notify(self, request)

    def remove(self, request: FriendRequest) -> None:
        if request in self._items:
            self._items.remove(request)
            self._notify(self, request)

    async def next(self, timeout: float) -> FriendRequest:
        """The oldest pending request, waiting up to ``timeout`` for one to arrive."""
        if self._items:
            return self._items[0]
        waiter = asyncio.get_running_loop().create_future()
        self._arrived.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout)
        finally:
            self._arrived.remove(waiter)

    def __iter__(self) -> Iterator[FriendRequest]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> FriendRequest:
        return self._items[index]

    def find(self, requester: str, thing: str | None = None) -> FriendRequest | None:
        """The pending request from ``requester`` (to ``thing``, if given), or None."""
        return next((r for r in self._items if r.requester == requester and (thing is None or r.thing == thing)), None)

    def __repr__(self) -> str:
        return f"<FriendRequests: {list(self._items)!r}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r.requester)}</td><td>{html.escape(r.thing)}</td></tr>" for r in self._items
        )
        return (
            "<table><caption>Pending friend requests</caption><tr><th>requester</th><th>wants to befriend</th></tr>"
            f"{rows or '<tr><td colspan=2>none</td></tr>'}</table>"
        )


Policy = Any  # "accept", "deny", or an iterable of allowed JIDs and domains


def policy_check(policy: Policy) -> Callable[[str], bool]:
    """Turn an ownerless thing's policy into a yes/no function of the requester's bare JID."""
    if policy == "accept":
        return lambda requester: True
    if policy == "deny":
        return lambda requester: False
    if isinstance(policy, str) or not isinstance(policy, Iterable):
        raise ValueError(
            f"policy={policy!r}: use 'accept', 'deny', or a list of allowed JIDs and domains "
            "(for example ['alice@xiotlab.localhost', 'school.example'])."
        )
    allowed = {str(entry).lower() for entry in policy}
    return lambda requester: requester.lower() in allowed or requester.split("@")[-1].lower() in allowed


def rule_range(value: RuleRange | str) -> RuleRange:
    """Accept a RuleRange or its name, in any case ("caller", "Domain", "ALL")."""
    if isinstance(value, RuleRange):
        return value
    for member in RuleRange:
        if member.value.lower() == str(value).lower():
            return member
    raise ValueError(f"range={value!r}: use 'Caller', 'Domain' or 'All'.")
