"""Service discovery (XEP-0030): what a peer says it supports.

``<query xmlns='http://jabber.org/protocol/disco#info'/>`` in an iq get asks
a full JID (a device) or a bare one (its server); the answer's query lists
``<feature var=.../>`` elements, one per namespace or feature the peer speaks.
``<query xmlns='http://jabber.org/protocol/disco#items'/>`` asked of a domain
lists its services (``<item jid=.../>``): how clients find a thing registry or
a provisioning service without being told its address.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .namespaces import DISCO_INFO, DISCO_ITEMS

_FEATURE = f"{{{DISCO_INFO}}}feature"
_ITEM = f"{{{DISCO_ITEMS}}}item"


def build_info_query() -> ET.Element:
    """``<query/>`` asking for a peer's identities and features."""
    return ET.Element(f"{{{DISCO_INFO}}}query")


def parse_features(answer: ET.Element | None) -> frozenset[str]:
    """The features an info answer lists (none for an empty answer)."""
    found = () if answer is None else answer.iter(_FEATURE)
    return frozenset(feature.get("var", "") for feature in found)


def build_items_query() -> ET.Element:
    """``<query/>`` asking an entity (a domain) for its items (its services)."""
    return ET.Element(f"{{{DISCO_ITEMS}}}query")


def parse_items(answer: ET.Element | None) -> tuple[str, ...]:
    """The JIDs of the items an items answer lists, in its order (none for an empty answer)."""
    found = () if answer is None else answer.iter(_ITEM)
    return tuple(jid for item in found if (jid := item.get("jid")))
