"""An owner and a thing registry: claim a thing by its code, search things by their tags, give them up.

The registry is found on the owner's domain (service discovery), unless a
claim URI names it (``R=``). Claiming sends the code's tags, KEY included, in
``<mine>``; the registry answers with the thing's JID and tells the thing who
its owner is, and the owner then befriends it (the thing accepts its owner at
once).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ProtocolError
from ..protocol import iotdisco
from ..protocol import registry as disco
from ..runtime import XmppClient
from .peers import Peers
from .service import Service

SEARCH_PAGE = 100  # things asked for per search request; a search pages on until it has them all


@dataclass(frozen=True)
class RegistryEntry:
    """One thing found in a registry: its JID, its tags (never its KEY), where it sits behind a concentrator."""

    jid: str
    tags: Mapping[str, str | float] = field(default_factory=dict)
    node: str | None = None
    owner: str | None = None

    def __repr__(self) -> str:
        tags = ", ".join(f"{name}={value!r}" for name, value in self.tags.items())
        return f"<RegistryEntry {self.jid}{'/' + self.node if self.node else ''} {tags}>"


class SearchResult(list[RegistryEntry]):
    """The things a search found, in the registry's order; shows as a table in a notebook."""

    def __init__(self, entries: list[RegistryEntry], query: str) -> None:
        super().__init__(entries)
        self.query = query

    def _repr_html_(self) -> str:
        names = sorted({name for entry in self for name in entry.tags})
        head = "".join(f"<th>{html.escape(n)}</th>" for n in ["jid", *names])
        rows = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(str(v))}</td>" for v in [e.jid, *(e.tags.get(n, "") for n in names)])
            + "</tr>"
            for e in self
        )
        caption = f"{len(self)} thing{'s' if len(self) != 1 else ''} found for {html.escape(self.query)!r}"
        return f"<table><caption>{caption}</caption><tr>{head}</tr>{rows}</table>"


def _entry(found: disco.FoundThing) -> RegistryEntry:
    tags = {tag.name: tag.value for tag in found.tags}
    return RegistryEntry(found.jid, tags, found.node.id, found.owner)


class RegistryClient(Service[XmppClient]):
    """An owner's requests to a thing registry (network thread)."""

    def __init__(self, client: XmppClient, peers: Peers) -> None:
        super().__init__(client)
        self.peers = peers
        self.registry: str | None = None

    async def find(self, timeout: float) -> str:
        """The registry on the owner's domain; ProtocolError saying so if there is none."""
        if self.registry is None:
            self.registry = await self.peers.find_service(disco.NAMESPACES, timeout)
        if self.registry is None:
            raise ProtocolError(
                f"No thing registry answers on {self.client.jid.domain}: a lab runs one at registry.<domain>; "
                "another server needs a registry component."
            )
        return self.registry

    async def claim(self, uri: str, public: bool, timeout: float) -> str:
        """Claim the thing of claim URI ``uri``; the thing's bare JID."""
        tags, named = iotdisco.parse_claim_uri(uri)
        registry = named or await self.find(timeout)
        answer = await self.peers.request(registry, "set", disco.build_mine(disco.Mine(tags, public=public)), timeout)
        if answer is None:
            raise ProtocolError(f"{registry} accepted the claim but did not say which thing it was.")
        return disco.parse_claimed(answer).jid

    async def search(self, query: str, timeout: float) -> SearchResult:
        """Every public claimed thing that ``query`` (search URI syntax, or keywords) finds."""
        operators, named = iotdisco.parse_search(query)
        registry = named or await self.find(timeout)
        entries: list[RegistryEntry] = []
        while True:
            search = disco.Search(operators, offset=len(entries), max_count=SEARCH_PAGE)
            answer = await self.peers.request(registry, "get", disco.build_search(search), timeout)
            page = disco.parse_found(answer) if answer is not None else disco.Found()
            entries += [_entry(found) for found in page.things]
            if not page.more or not page.things:
                return SearchResult(entries, query)

    async def remove(self, thing: str, timeout: float) -> None:
        """Take ``thing`` out of the registry; it stays ours."""
        await self.peers.request(await self.find(timeout), "set", disco.build_remove(disco.Remove(thing)), timeout)

    async def disown(self, thing: str, timeout: float) -> None:
        """Give ``thing`` up: the registry asks it to acknowledge, then lists it unclaimed again."""
        await self.peers.request(await self.find(timeout), "set", disco.build_disown(disco.Disown(thing)), timeout)
