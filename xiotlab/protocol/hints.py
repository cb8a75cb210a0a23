"""Message processing hints (XEP-0334): what servers may do with a message.

Live sensor events are worthless later: ``<no-store/>`` asks every server on
the way not to keep them in offline storage for an absent receiver.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .namespaces import HINTS


def no_store() -> ET.Element:
    """``<no-store/>``: do not keep this message for later delivery."""
    return ET.Element(f"{{{HINTS}}}no-store")
