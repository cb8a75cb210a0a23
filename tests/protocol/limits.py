"""The check that a parser takes an attribute of exactly its length limit and refuses one character more."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from xiotlab.errors import ProtocolError


def assert_attribute_limit(parse: Callable[[ET.Element], object], template: str, limit: int) -> None:
    """``parse`` reads ``template`` with ``{x}`` replaced by ``limit`` characters, and refuses ``limit + 1``.

    The refusal is a ProtocolError saying how long the attribute is and what
    the limit is; what is read at the limit keeps the whole text.
    """
    at_limit = "a" * (limit - 1) + "z"
    parsed = parse(ET.fromstring(template.replace("{x}", at_limit)))
    assert at_limit in repr(parsed)
    with pytest.raises(ProtocolError, match=f"is {limit + 1} characters long; xiotlab takes at most {limit}"):
        parse(ET.fromstring(template.replace("{x}", at_limit + "z")))
