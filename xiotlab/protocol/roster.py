"""The roster (RFC 6121 §2): a participant's list of contacts, kept by its server.

Most of it slixmpp handles; what xiotlab builds itself is the removal of a
contact, which also ends the presence subscriptions both ways.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .namespaces import ROSTER


def build_roster_remove(jid: str) -> ET.Element:
    """``<query><item jid= subscription='remove'/></query>`` for an iq set to one's own account."""
    query = ET.Element(f"{{{ROSTER}}}query")
    ET.SubElement(query, f"{{{ROSTER}}}item", jid=jid, subscription="remove")
    return query
