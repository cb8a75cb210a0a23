"""The ``iotdisco:`` URI scheme: a thing's claim code, and searches written as text (Discovery.md).

A claim URI carries a thing's tags, its KEY and the registry's address
(``R``): ``iotdisco:MAN=example.org;MODEL=T1;SN=42;#V=1.2;KEY=…;R=registry.example.org``.
Numeric tags have ``#`` before their names; ``;`` and ``\\`` in names and
values are escaped with a backslash (the page's rule; IoTGateway's encoder
percent-encodes instead, its decoder knows only backslashes). A URI that was
percent-encoded as a whole (``iotdisco%3ASN%3D...``) is decoded first; values
percent-encoded one by one are taken literally, since ``%41`` may be a value's
own text.

A search URI has no KEY and more operators (``<``, ``<=``, ``>``, ``>=``,
``<>``, ``~`` for a mask); :func:`parse_search` also takes plain keywords.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Iterable, Iterator

from ..errors import ProtocolError
from .registry import (
    KEY,
    MAX_TAG_VALUE_LENGTH,
    REGISTRY_TAG,
    SCHEME,
    Compare,
    Comparison,
    Mask,
    Operator,
    Range,
    Tag,
    check_jid,
    check_tags,
    format_value,
    is_key,
    norm,
    tag_map,
)
from .values import parse_double

__all__ = ["encode_claim_uri", "parse_claim_uri", "encode_search_uri", "parse_search", "keyword"]


_OPERATOR_CHARS = "=<>~"
_URI_OPERATORS = ("<>", "<=", ">=", "=", "<", ">", "~")
_URI_COMPARISONS = {
    "=": Comparison.EQ,
    "<>": Comparison.NEQ,
    ">": Comparison.GT,
    ">=": Comparison.GT_EQ,
    "<": Comparison.LT,
    "<=": Comparison.LT_EQ,
}
_COMPARISON_SIGNS = {c: sign for sign, c in _URI_COMPARISONS.items()}


def _escape(text: str, special: str = "") -> str:
    """Backslashes before ``;``, ``\\`` and the ``special`` characters."""
    return "".join("\\" + c if c in special or c in ";\\" else c for c in text)


def _escape_name(name: str) -> str:
    """A name's operator characters escaped, and a leading ``#`` or space, which would change how it reads."""
    escaped = _escape(name, _OPERATOR_CHARS)
    return "\\" + escaped if escaped[:1] == "#" or escaped[:1].isspace() else escaped


def _escape_value(text: str) -> str:
    """A value's ``;`` and ``\\`` escaped, and a leading ``=``, ``<`` or ``>``, which would join the operator."""
    escaped = _escape(text)
    return "\\" + escaped if escaped[:1] in ("=", "<", ">") else escaped


def _uri_item(name: str, sign: str, value: str | float) -> str:
    prefix = "" if isinstance(value, str) else "#"
    return f"{prefix}{_escape_name(name)}{sign}{_escape_value(format_value(value))}"


def _registry_item(registry: str | None) -> list[str]:
    if registry is None:
        return []
    return [_uri_item(REGISTRY_TAG, "=", check_jid(registry, "the registry's address"))]


def encode_claim_uri(tags: Iterable[Tag], registry: str | None = None) -> str:
    """The ``iotdisco:`` URI an owner claims the thing with (QR code); the tags must include KEY.

    ``registry`` (the ``R`` tag) names the registry, so an owner's client finds it wherever it connects.
    """
    tags = check_tags(tags)
    names = tag_map(tags)
    if KEY not in names:
        raise ProtocolError("a claim URI must carry the thing's KEY tag; add Tag('KEY', new_key()) when registering")
    if REGISTRY_TAG in names:
        raise ProtocolError("tag 'R' is reserved for the registry's address in URIs; pass it as registry=")
    items = [_uri_item(tag.name, "=", tag.value) for tag in tags] + _registry_item(registry)
    return f"{SCHEME}:" + ";".join(items)


@dataclasses.dataclass(frozen=True)
class _Item:
    """One ``name op value`` of a URI, unescaped, ``numeric`` when the name had ``#``."""

    name: str
    sign: str
    value: str
    numeric: bool


def _strip_scheme(uri: str, required: bool) -> str:
    """The part after ``iotdisco:``; a URI percent-encoded as a whole is decoded first."""
    text = uri.strip()
    lowered = text[: len(SCHEME) + 3].lower()
    if lowered.startswith(SCHEME + "%3a"):
        text = urllib.parse.unquote(text)
        lowered = text[: len(SCHEME) + 1].lower()
    if lowered.startswith(SCHEME + ":"):
        return text[len(SCHEME) + 1 :]
    if required:
        raise ProtocolError(f"{text[:40]!r} is not an iotdisco URI; it must begin with 'iotdisco:'")
    return text


def _split_items(text: str) -> Iterator[list[tuple[str, bool]]]:
    """The ``;``-separated items of a URI, each a list of ``(character, escaped)``."""
    item: list[tuple[str, bool]] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped is None:
                raise ProtocolError("the URI ends in a lone backslash; write '\\\\' for a backslash in a value")
            item.append((escaped, True))
        elif char == ";":
            yield item
            item = []
        else:
            item.append((char, False))
    yield item


def _item(chars: list[tuple[str, bool]]) -> _Item | str:
    """An item split at its operator; a plain string when it has none (a keyword)."""
    start = next((i for i, (c, escaped) in enumerate(chars) if c in _OPERATOR_CHARS and not escaped), None)
    if start is None:
        return "".join(c for c, _ in chars)
    follower = chars[start + 1] if start + 1 < len(chars) else ("", True)
    pair = chars[start][0] + ("" if follower[1] else follower[0])  # an escaped character is part of the value
    sign = next(s for s in _URI_OPERATORS if pair.startswith(s))
    head = chars[:start]
    while head and head[0][0].isspace() and not head[0][1]:
        head = head[1:]
    numeric = bool(head) and head[0] == ("#", False)
    name = "".join(c for c, _ in (head[1:] if numeric else head)).rstrip()
    value = "".join(c for c, _ in chars[start + len(sign) :])
    return _Item(name, sign, value, numeric)


def _items(text: str) -> Iterator[_Item | str]:
    for chars in _split_items(text):
        if any(not c.isspace() for c, _ in chars):
            yield _item(chars)


def _item_value(item: _Item) -> str | float:
    if not item.numeric:
        return item.value
    return parse_double(item.value, f"the numeric tag {item.name!r} of the URI")[0]


def parse_claim_uri(uri: str) -> tuple[tuple[Tag, ...], str | None]:
    """The tags of an ``iotdisco:`` claim URI, and the registry its ``R`` tag names (None without one)."""
    tags: list[Tag] = []
    registry = None
    for item in _items(_strip_scheme(uri, required=True)):
        if isinstance(item, str) or item.sign != "=":
            shown = item if isinstance(item, str) else item.name + item.sign + item.value
            raise ProtocolError(f"{shown[:40]!r} is not a name=value pair; a claim URI holds only such pairs")
        if norm(item.name) == REGISTRY_TAG and not item.numeric:
            registry = check_jid(item.value, "the registry's address (R)")
        else:
            tags.append(Tag(item.name, _item_value(item)))
    if KEY not in tag_map(tags):
        raise ProtocolError("this iotdisco URI has no KEY tag, so it describes a search, not a claim: use parse_search")
    return check_tags(tags), registry


def encode_search_uri(operators: Iterable[Operator], registry: str | None = None) -> str:
    """The ``iotdisco:`` URI of a search; regular expressions and name wildcards have no URI form."""
    items = [item for op in operators for item in _search_items(op)]
    if not items:
        raise ProtocolError("a search URI needs at least one operator")
    return f"{SCHEME}:" + ";".join(items + _registry_item(registry))


def _search_items(op: Operator) -> list[str]:
    if isinstance(op, Mask):
        return [f"{_escape_name(op.name)}~{_escape(op.wildcard + op.value)}"]
    if isinstance(op, Range):
        if op.outside:  # below min or above max
            return [_uri_item(op.name, "<=" if not op.min_included else "<", op.min),
                    _uri_item(op.name, ">=" if not op.max_included else ">", op.max)]  # fmt: skip
        return [_uri_item(op.name, ">=" if op.min_included else ">", op.min),
                _uri_item(op.name, "<=" if op.max_included else "<", op.max)]  # fmt: skip
    if op.comparison is Comparison.REGEX or op.name_wildcard is not None:
        raise ProtocolError(f"{op.local} with a regular expression or name wildcard has no iotdisco URI form")
    return [_uri_item(op.name, _COMPARISON_SIGNS[op.comparison], op.value)]


_KEYWORD_LENGTH = (MAX_TAG_VALUE_LENGTH - 8) // 2  # re.escape may double it; the pattern adds 8


def keyword(word: str) -> Compare:
    """The operator of a plain keyword: any string tag containing ``word``, in any letter case.

    A ``strRegEx`` with the name wildcard ``*`` and the pattern ``(?is).*word.*``.
    """
    if not word or len(word) > _KEYWORD_LENGTH:
        raise ProtocolError(f"a search keyword must have 1 to {_KEYWORD_LENGTH} characters, not {len(word)}")
    return Compare("*", Comparison.REGEX, f"(?is).*{re.escape(word)}.*", name_wildcard="*")


def parse_search(text: str) -> tuple[tuple[Operator, ...], str | None]:
    """The operators of a search written as text, and the registry its ``R`` names (None without one).

    A mask (``~``) is followed by its wildcard character, as the specification says
    (``SN~*9873*``); a mask that starts with a letter or digit (``MODEL~Therm*``) is read
    with ``*`` as its wildcard, since nobody picks a letter for one.

    ``text`` is the specification's search URI, with or without ``iotdisco:``
    (``MAN=Acme;MODEL~*Therm*;#V>=1.0;#V<2``), or plain keywords: an item
    without an operator is split at white space, and each word finds things
    with any string tag containing it, in any letter case (:func:`keyword`).
    A name with both a lower and an upper bound becomes a range (or, when the
    bounds leave nothing between them, as in ``#V<1;#V>2``, an outside-range).
    """
    if not isinstance(text, str):
        raise TypeError(f"a search is a str, not {type(text).__name__}")
    operators: list[Operator] = []
    bounds: dict[tuple[str, bool], list[_Item]] = {}
    registry = None
    for item in _items(_strip_scheme(text, required=False)):
        if isinstance(item, str):
            operators += [keyword(word) for word in item.split()]
        elif norm(item.name) == REGISTRY_TAG and item.sign == "=" and not item.numeric:
            registry = check_jid(item.value, "the registry's address (R)")
        elif is_key(item.name):
            raise ProtocolError("this text names KEY, so it is a claim, not a search: use parse_claim_uri")
        elif item.sign in ("<", "<=", ">", ">="):
            bounds.setdefault((norm(item.name), item.numeric), []).append(item)
        else:
            operators.append(_uri_operator(item))
    for items in bounds.values():
        operators += _bounded(items)
    if not operators:
        raise ProtocolError("the search is empty; write conditions such as MAN=example.org;#V>=1, or keywords")
    return tuple(operators), registry


def _uri_operator(item: _Item) -> Operator:
    if not item.name:
        raise ProtocolError(f"{item.sign}{item.value!r} has no tag name before the operator")
    if item.sign == "~":
        if item.numeric or not item.value:
            raise ProtocolError(f"mask {item.name}~{item.value} needs a string tag and a wildcard character first")
        if item.value[0].isalnum():
            # A letter or digit is no one's wildcard: MODEL~Therm* means the usual glob with '*'.
            return Mask(item.name, item.value, "*")
        return Mask(item.name, item.value[1:], item.value[0])
    return Compare(item.name, _URI_COMPARISONS[item.sign], _item_value(item))


def _bounded(items: list[_Item]) -> list[Operator]:
    """One lower and one upper bound of a name make a range; anything else stays separate comparisons."""
    lower = [i for i in items if i.sign.startswith(">")]
    upper = [i for i in items if i.sign.startswith("<")]
    if len(lower) != 1 or len(upper) != 1:
        return [_uri_operator(i) for i in items]
    low, high = lower[0], upper[0]
    low_value, high_value = _item_value(low), _item_value(high)
    if low_value <= high_value:  # type: ignore[operator]  # both str or both float: same name, same '#'
        return [Range(low.name, low_value, high_value, low.sign == ">=", high.sign == "<=")]
    # tag < high OR tag > low: outside [high, low], each bound included in the range unless the sign takes it
    return [Range(low.name, high_value, low_value, high.sign == "<", low.sign == ">", outside=True)]
