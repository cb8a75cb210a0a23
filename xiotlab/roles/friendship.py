"""Requests waiting for an owner's decision, and the policies of ownerless things.

Three kinds share one inbox (``owner.requests``): a friend request
(:class:`FriendRequest`), and, for a thing governed by a provisioning service,
a refused read (:class:`ReadRequest`) or control (:class:`ControlRequest`)
that the service asks the owner about; the last two may be approved in part.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..protocol.provisioning import RuleRange
from ..runtime import Observable

Parts = tuple[str, ...] | None  # the fields or parameters an approval allows (None: all asked)


class Decider(Protocol):
    """Who answers requests: an :class:`~xiotlab.roles.owner.Owner`."""

    @property
    def jid(self) -> str: ...

    def approve(self, request: FriendRequest, range: RuleRange | str, parts: Parts = None) -> None: ...

    def reject(self, request: FriendRequest, range: RuleRange | str) -> None: ...

    async def aapprove(self, request: FriendRequest, range: RuleRange | str, parts: Parts = None) -> None: ...

    async def areject(self, request: FriendRequest, range: RuleRange | str) -> None: ...


@dataclass(eq=False)
class FriendRequest:
    """``requester`` asks to befriend ``thing``; the owner decides with :meth:`approve` or :meth:`reject`.

    When ``thing`` is the owner's own JID, the request is for the owner itself. ``service`` is
    the provisioning service that asked on the thing's behalf (None: the thing asked itself).
    """

    thing: str
    requester: str
    key: str | None = None
    _owner: Decider | None = field(default=None, repr=False)
    service: str | None = None

    kind = "friend"
    wants = "befriend"

    def approve(
        self,
        range: RuleRange | str = RuleRange.CALLER,
        *,
        fields: Iterable[str] | None = None,
        parameters: Iterable[str] | None = None,
    ) -> None:
        """Say yes; ``range``: also for the requester's whole domain ("Domain") or anyone ("All").

        A read or control request may be approved in part: ``fields=[...]`` or ``parameters=[...]``.
        """
        self._decider().approve(self, range, self._allowed(fields, parameters))

    def reject(self, range: RuleRange | str = RuleRange.CALLER) -> None:
        """Say no (and, with ``range``, to similar future requests)."""
        self._decider().reject(self, range)

    async def aapprove(
        self,
        range: RuleRange | str = RuleRange.CALLER,
        *,
        fields: Iterable[str] | None = None,
        parameters: Iterable[str] | None = None,
    ) -> None:
        """Awaitable form of :meth:`approve`."""
        await self._decider().aapprove(self, range, self._allowed(fields, parameters))

    async def areject(self, range: RuleRange | str = RuleRange.CALLER) -> None:
        """Awaitable form of :meth:`reject`."""
        await self._decider().areject(self, range)

    def _allowed(self, fields: Iterable[str] | None, parameters: Iterable[str] | None) -> Parts:
        """The parts an approval allows (None: all asked); a friendship has no parts."""
        if fields is not None or parameters is not None:
            raise ValueError(f"{self!r} is a friend request: approve it whole, without fields or parameters.")
        return None

    @property
    def parts(self) -> tuple[str, ...]:
        """What the requester asked for: fields to read or parameters to set (empty: all, or a friendship)."""
        return ()

    def _decider(self) -> Decider:
        if self._owner is None:
            raise ValueError(f"{self!r} was made by hand: only an Owner's own requests can be answered.")
        return self._owner

    @property
    def question(self) -> tuple[str, str, str, tuple[str, ...]]:
        """What was asked: kind, thing, requester, parts. The same question asked twice is one request."""
        return (self.kind, self.thing, self.requester, self.parts)

    def __repr__(self) -> str:
        target = "you" if self._owner is not None and self.thing == self._owner.jid else self.thing
        asked = f" ({', '.join(self.parts)})" if self.parts else ""
        return f"<{type(self).__name__} {self.requester} → {self.wants} {target}{asked}>"


@dataclass(eq=False, repr=False)
class ReadRequest(FriendRequest):
    """``requester`` (a friend of ``thing``) asked to read ``fields`` of it (empty: all) and was refused.

    The provisioning service asks the owner; :meth:`approve` may allow only some fields
    (``approve(fields=["temperature"])``) and for a range (``range="Domain"``).
    """

    fields: tuple[str, ...] = ()

    kind = "read"
    wants = "read"

    @property
    def parts(self) -> tuple[str, ...]:
        return self.fields

    def _allowed(self, fields: Iterable[str] | None, parameters: Iterable[str] | None) -> Parts:
        if parameters is not None:
            raise ValueError(f"{self!r} asks to read: approve it with `fields=[...]`, not parameters.")
        return _parts(fields)


@dataclass(eq=False, repr=False)
class ControlRequest(FriendRequest):
    """``requester`` asked to set ``parameters`` of ``thing`` (empty: to see its control form) and was refused.

    :meth:`approve` may allow only some (``approve(parameters=["setpoint"])``) and for a range.
    """

    parameters: tuple[str, ...] = ()

    kind = "control"
    wants = "control"

    @property
    def parts(self) -> tuple[str, ...]:
        return self.parameters

    def _allowed(self, fields: Iterable[str] | None, parameters: Iterable[str] | None) -> Parts:
        if fields is not None:
            raise ValueError(f"{self!r} asks to control: approve it with `parameters=[...]`, not fields.")
        return _parts(parameters)


def _parts(names: Iterable[str] | None) -> Parts:
    if names is None:
        return None
    if isinstance(names, str):
        return (names,)
    return tuple(names)


class FriendRequests(Observable):
    """An owner's pending friend requests, oldest first; observers get ``(requests, request)``."""

    def __init__(self) -> None:
        super().__init__()
        self._items: list[FriendRequest] = []
        self._arrived: list[asyncio.Future] = []

    def add(self, request: FriendRequest) -> None:
        if any(r.question == request.question for r in self._items):
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

    def find(self, requester: str, thing: str | None = None, kind: str | None = None) -> FriendRequest | None:
        """The oldest pending request from ``requester`` (about ``thing``, of ``kind``, if given), or None."""
        return next(
            (
                r
                for r in self._items
                if r.requester == requester and thing in (None, r.thing) and kind in (None, r.kind)
            ),
            None,
        )

    def __repr__(self) -> str:
        return f"<FriendRequests: {list(self._items)!r}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r.requester)}</td><td>{r.wants}</td><td>{html.escape(r.thing)}</td>"
            f"<td>{html.escape(', '.join(r.parts) or _ALL.get(r.kind, ''))}</td></tr>"
            for r in self._items
        )
        return (
            "<table><caption>Pending requests</caption><tr><th>requester</th><th>wants to</th><th>thing</th>"
            f"<th>what</th></tr>{rows or '<tr><td colspan=4>none</td></tr>'}</table>"
        )


_ALL = {"read": "all fields", "control": "all parameters"}  # what a request with no parts asked for

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
