"""Thing registries (``urn:nfi:iot:disco:1.0`` and its older names): tags, claims, searches.

A thing registers its *conceptual identity* with the registry component, a
set of tags (:class:`Tag`: string or numeric, ``<str>``/``<num>``), one of
them a random ``KEY``. The thing shows the same tags to its future owner out
of band, as an ``iotdisco:`` URI in a QR code (:func:`.iotdisco.encode_claim_uri`). The
owner claims it by sending exactly those tags in ``<mine>``; the registry
answers ``<claimed jid=thing>``, forgets the KEY and tells the thing
``<claimed jid=owner>``. Afterwards the owner may ``<remove>`` the thing from
the registry (the thing hears ``<removed>``) or ``<disown>`` it (the thing
must acknowledge ``<disowned>``); the thing may ``<update>`` its tags or
``<unregister>``. Anyone may ``<search>`` public claimed things with
comparison operators (:class:`Compare`, :class:`Range`, :class:`Mask`) and
page through the ``<found>`` result with ``offset``/``maxCount``/``more``.
Every acknowledgement in the protocol, the thing's included, is an empty iq
result; there is no element for it.

Parsers accept every namespace of :data:`NAMESPACES` and record it in the
request's ``namespace`` (not compared); builders take ``ns=``, so an answer
goes out in the namespace of its request. Distributed searches (``debby``,
``query``, ``result``) are not modelled; ``distributed`` is read and kept.

Limits (:data:`MAX_TAG_NAME_LENGTH`, :data:`MAX_TAG_VALUE_LENGTH` from the
specification; :data:`MAX_TAGS`, :data:`MAX_OPERATORS`, :data:`MAX_FOUND`
ours): a tag name at most 64 characters, without ``:``, ``#``, ``=``, ``<``,
``>`` or white space (the page's Meta Tags section forbids the first two and
white space, its URI section the others); a string value at most 128
characters; a numeric value finite (xs:double's INF and NaN compare to
nothing useful). Tag names are case insensitive (:func:`norm`).

Where the specification page and Discovery.xsd disagree, this module follows
the schema and says so here:

* ``<thing>`` in ``<found>`` has a required ``owner`` attribute in the
  schema; the page says owners are left out for privacy and its examples
  have none. Builders write it when given; parsers accept it missing.
* ``<claimed>``'s ``public`` defaults to false in the schema; the page's
  example of a public claim leaves it out. Builders always write it, so both
  readings agree; parsers read a missing one as false.
* The schema says ``<claimed>`` reaches the thing "in asynchronous message",
  the page shows an iq set. Both are valid carriers; the registry sends the
  iq and falls back to a message (see :mod:`xiotlab.roles.lab.registry`).
* The page's name-wildcard search example has an unclosed ``<numGtEq>`` and
  names a tag with colons, which no registered tag can have (so search
  operator names are only bounded, not held to the tag name rules); its
  "query response from Child Broker" example closes ``<result>`` with
  ``</query>``.

The ``iotdisco:`` URIs (claim codes, searches as text) are :mod:`.iotdisco`'s.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import TypeAlias, TypeVar

from ..errors import ProtocolError
from . import elements as x
from .namespaces import DISCOVERY, DISCOVERY_ALIASES
from .values import check_xml_text, format_boolean, format_double, parse_double, parse_integer

__all__ = [
    "NAMESPACES", "MAX_TAG_NAME_LENGTH", "MAX_TAG_VALUE_LENGTH", "MAX_TAGS", "MAX_OPERATORS", "MAX_FOUND",
    "MAX_JID_LENGTH", "KEY", "REGISTRY_TAG", "SCHEME",
    "Tag", "NodeAddress", "NO_NODE", "Register", "Mine", "Update", "Claimed", "Remove", "Removed", "Unregister",
    "Disown", "Disowned", "Comparison", "Compare", "Range", "Mask", "Operator", "Search", "FoundThing", "Found",
    "norm", "is_key", "check_tag_name", "new_key", "split_key", "tag_map",
    "build_register", "parse_register", "build_mine", "parse_mine", "build_update", "parse_update",
    "build_claimed", "parse_claimed", "build_remove", "parse_remove", "build_removed", "parse_removed",
    "build_unregister", "parse_unregister", "build_disown", "parse_disown", "build_disowned", "parse_disowned",
    "build_search", "parse_search_element", "build_found", "parse_found", "parse",
    "check_jid", "check_tags", "format_value",
]  # fmt: skip

NAMESPACES: tuple[str, ...] = (DISCOVERY, *DISCOVERY_ALIASES)
"""Every namespace of this protocol, the current one first."""

MAX_TAG_NAME_LENGTH = 64
"""Most characters in a tag name (the specification's limit)."""

MAX_TAG_VALUE_LENGTH = 128
"""Most characters in a string tag's value (the specification's limit); search values share it."""

MAX_TAGS = 64
"""Most tags in one element, and so on one thing.

The specification sets none and asks registries to stop tag spam; it
predefines 23 tags. 64 leaves room for harmonized interface tags.
"""

MAX_OPERATORS = 32
"""Most operators in one search."""

MAX_FOUND = 1000
"""Most things a ``<found>`` we read may carry."""

MAX_JID_LENGTH = 3071
"""Most characters in a JID attribute (RFC 7622: three parts of at most 1023 bytes)."""

KEY = "KEY"
"""The tag shared only by a thing and its owner: never searchable, never returned, dropped on claim."""

REGISTRY_TAG = "R"
"""The tag of an ``iotdisco:`` URI naming the registry; it is never registered."""

SCHEME = "iotdisco"

_FORBIDDEN_IN_NAMES = re.compile(r"[:#=<>\s]")


# --- tags -----------------------------------------------------------------------------------


def norm(name: str) -> str:
    """A tag name as compared: the specification makes tag names case insensitive."""
    return name.upper()


def is_key(name: str) -> bool:
    """Whether ``name`` is the reserved ``KEY`` tag, in any letter case."""
    return norm(name) == KEY


def check_tag_name(name: object) -> str:
    """``name`` if it may name a tag; ``ProtocolError`` saying what is wrong otherwise."""
    text = _text(name, "a tag name")
    if not text:
        raise ProtocolError("a tag name is empty; give each tag a name such as SN or MODEL")
    if len(text) > MAX_TAG_NAME_LENGTH:
        raise ProtocolError(
            f"tag name {text[:40]!r}... is {len(text)} characters long; at most {MAX_TAG_NAME_LENGTH} are allowed"
        )
    bad = _FORBIDDEN_IN_NAMES.search(text)
    if bad:
        raise ProtocolError(
            f"tag name {text!r} contains {bad.group()!r}; tag names may not contain ':', '#', '=', '<', '>' or "
            "white space. Replace it, for instance by '_' as harmonized interface tags do"
        )
    return text


def _text(value: object, what: str) -> str:
    try:
        return check_xml_text(value, what)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None


def _string_value(value: str, what: str) -> str:
    _text(value, what)
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise ProtocolError(
            f"{what} is {len(value)} characters long; at most {MAX_TAG_VALUE_LENGTH} are allowed. Shorten it"
        )
    return value


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a str or a number, not {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise ProtocolError(f"{what} is too large for a double; registry numbers must be finite") from None
    if not math.isfinite(number):
        raise ProtocolError(f"{what} is {value!r}; registry numbers must be finite, so INF and NaN cannot be used")
    return number


def _value(value: object, what: str) -> str | float:
    """A tag or search value: a bounded string, or a finite number (as a float)."""
    if isinstance(value, str):
        return _string_value(value, what)
    return _number(value, what)


@dataclasses.dataclass(frozen=True)
class Tag:
    """One piece of meta data: a name and a string value, or a numeric one (``<num>``, a float).

    Names follow :func:`check_tag_name`; string values are at most
    :data:`MAX_TAG_VALUE_LENGTH` characters. An int is kept as a float, as
    the wire's xs:double reads back.
    """

    name: str
    value: str | float

    def __post_init__(self) -> None:
        check_tag_name(self.name)
        object.__setattr__(self, "value", _value(self.value, f"the value of tag {self.name!r}"))

    @property
    def numeric(self) -> bool:
        return not isinstance(self.value, str)


def tag_map(tags: Iterable[Tag]) -> dict[str, Tag]:
    """The tags by :func:`norm` of their names; ``ProtocolError`` if a name appears twice."""
    found: dict[str, Tag] = {}
    for tag in tags:
        if not isinstance(tag, Tag):
            raise TypeError(f"tags must be Tag instances, not {tag!r}")
        key = norm(tag.name)
        if key in found:
            raise ProtocolError(f"tag {tag.name!r} appears twice (names are case insensitive); give each tag once")
        found[key] = tag
    return found


def check_tags(tags: Iterable[Tag]) -> tuple[Tag, ...]:
    if isinstance(tags, Tag):
        raise TypeError("tags must be a sequence of Tag; wrap a single one: (tag,)")
    result = tuple(tags)
    if len(result) > MAX_TAGS:
        raise ProtocolError(f"{len(result)} tags are too many; a thing may have at most {MAX_TAGS}")
    tag_map(result)
    return result


def new_key(entropy_bytes: int = 16) -> str:
    """A random value for a ``KEY`` tag (hex; 16 bytes make it unguessable)."""
    return secrets.token_hex(entropy_bytes)


def split_key(tags: Iterable[Tag]) -> tuple[str | None, tuple[Tag, ...]]:
    """The KEY's value (None without one) and the other tags: what may be shown or searched."""
    key = None
    others = []
    for tag in tags:
        if is_key(tag.name):
            key = str(tag.value)
        else:
            others.append(tag)
    return key, tuple(others)


# --- addresses --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NodeAddress:
    """Where a thing sits behind a concentrator: node ``id``, data ``src``, partition ``pt``; all optional."""

    id: str | None = None
    source: str | None = None
    partition: str | None = None

    def __post_init__(self) -> None:
        for part in ("id", "source", "partition"):
            value = getattr(self, part)
            if value is not None:
                _text(value, f"node {part}")
                if len(value) > x.MAX_NAME_LENGTH:
                    raise ProtocolError(f"node {part} is longer than {x.MAX_NAME_LENGTH} characters; shorten it")

    def __bool__(self) -> bool:
        return any(part is not None for part in (self.id, self.source, self.partition))


NO_NODE = NodeAddress()
"""The address of a thing that is not behind a concentrator."""

_NODE_NAMES = ("id", "src", "pt")


def _read_node(element: ET.Element) -> NodeAddress:
    values = [x.optional(element, name, x.MAX_NAME_LENGTH) for name in _NODE_NAMES]
    return NodeAddress(*values) if any(v is not None for v in values) else NO_NODE


def _write_node(element: ET.Element, node: NodeAddress) -> None:
    for name, value in zip(_NODE_NAMES, (node.id, node.source, node.partition), strict=True):
        x.put(element, name, value)


def check_jid(value: object, what: str) -> str:
    text = _text(value, what)
    if not text or len(text) > MAX_JID_LENGTH:
        raise ProtocolError(f"{what} must be a JID of 1 to {MAX_JID_LENGTH} characters, not {text[:40]!r}")
    return text


def _node(value: object) -> NodeAddress:
    if not isinstance(value, NodeAddress):
        raise TypeError(f"node must be a NodeAddress, not {value!r}")
    return value


# --- the elements ---------------------------------------------------------------------------

_NS = dataclasses.field(default=DISCOVERY, compare=False)


@dataclasses.dataclass(frozen=True)
class Register:
    """A thing registers (or re-registers, replacing every tag) its conceptual identity."""

    tags: tuple[Tag, ...]
    node: NodeAddress = NO_NODE
    self_owned: bool = False
    namespace: str = _NS

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", check_tags(self.tags))
        _node(self.node)


@dataclasses.dataclass(frozen=True)
class Mine:
    """An owner claims the thing whose tags are exactly these, KEY included; ``public`` makes it searchable."""

    tags: tuple[Tag, ...]
    public: bool = True
    node: NodeAddress = NO_NODE
    namespace: str = _NS

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", check_tags(self.tags))
        _node(self.node)


@dataclasses.dataclass(frozen=True)
class Update:
    """Tags to add or replace (a string tag with an empty value is removed).

    From the thing itself, ``jid`` is None; from its owner, ``jid`` names the thing.
    """

    tags: tuple[Tag, ...]
    node: NodeAddress = NO_NODE
    jid: str | None = None
    namespace: str = _NS

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", check_tags(self.tags))
        _node(self.node)
        if self.jid is not None:
            check_jid(self.jid, "the thing's JID")


@dataclasses.dataclass(frozen=True)
class Claimed:
    """A claim happened: to the owner ``jid`` is the thing's, to the thing it is the owner's."""

    jid: str
    node: NodeAddress = NO_NODE
    public: bool = False
    namespace: str = _NS

    def __post_init__(self) -> None:
        check_jid(self.jid, "the JID of <claimed>")
        _node(self.node)


@dataclasses.dataclass(frozen=True)
class _OwnersRequest:
    """An owner's request about its thing ``jid`` (a node of it, perhaps)."""

    jid: str
    node: NodeAddress = NO_NODE
    namespace: str = _NS

    def __post_init__(self) -> None:
        check_jid(self.jid, "the thing's JID")
        _node(self.node)


@dataclasses.dataclass(frozen=True)
class Remove(_OwnersRequest):
    """The owner takes thing ``jid`` out of the registry (the thing keeps its owner)."""


@dataclasses.dataclass(frozen=True)
class Disown(_OwnersRequest):
    """The owner gives thing ``jid`` up, so that someone else may claim it."""


@dataclasses.dataclass(frozen=True)
class _NodeOnly:
    """An element that says nothing but which node of its thing it is about."""

    node: NodeAddress = NO_NODE
    namespace: str = _NS


@dataclasses.dataclass(frozen=True)
class Removed(_NodeOnly):
    """To the thing: its owner removed it from the registry; stop updating it."""


@dataclasses.dataclass(frozen=True)
class Unregister(_NodeOnly):
    """The thing leaves the registry (uninstallation)."""


@dataclasses.dataclass(frozen=True)
class Disowned(_NodeOnly):
    """To the thing: its owner gave it up (it acknowledges, then registers anew).

    Also the answer to a thing's ``<update>`` while it is not claimed.
    """


# --- search operators -------------------------------------------------------------------------


class Comparison(enum.Enum):
    """How a :class:`Compare` operator compares; the value is its element name after ``str``/``num``."""

    EQ = "Eq"
    NEQ = "NEq"
    GT = "Gt"
    GT_EQ = "GtEq"
    LT = "Lt"
    LT_EQ = "LtEq"
    REGEX = "RegEx"  # string tags only: the whole value matches the regular expression


def _operator_name(name: object, wildcard: str | None) -> str:
    # Not check_tag_name: the page's own search example names tags with colons.
    text = _text(name, "the tag name of a search operator")
    if not text or len(text) > MAX_TAG_NAME_LENGTH:
        raise ProtocolError(f"a search operator's tag name must have 1 to {MAX_TAG_NAME_LENGTH} characters")
    if wildcard is not None and not _text(wildcard, "a name wildcard"):
        raise ProtocolError("nameWildcard is empty; give the wildcard character (such as '*') or leave it out")
    return text


@dataclasses.dataclass(frozen=True)
class Compare:
    """Things with tag ``name`` compared to ``value``: ``strXxx`` for a str value, ``numXxx`` for a number.

    ``name_wildcard``: the character that stands for any text in ``name``.
    """

    name: str
    comparison: Comparison
    value: str | float
    name_wildcard: str | None = None

    def __post_init__(self) -> None:
        _operator_name(self.name, self.name_wildcard)
        if not isinstance(self.comparison, Comparison):
            raise TypeError(f"comparison must be a Comparison, not {self.comparison!r}")
        object.__setattr__(self, "value", _value(self.value, f"the value compared with {self.name!r}"))
        if self.comparison is Comparison.REGEX and not isinstance(self.value, str):
            raise ProtocolError("a regular expression compares string tags; give the pattern as a str")

    @property
    def local(self) -> str:
        """The element name: ``strEq``, ``numGtEq``, ..."""
        return ("str" if isinstance(self.value, str) else "num") + self.comparison.value


@dataclasses.dataclass(frozen=True)
class Range:
    """Things with tag ``name`` within ``min``..``max`` (``outside``: not within); both str or both numbers."""

    name: str
    min: str | float
    max: str | float
    min_included: bool = True
    max_included: bool = True
    outside: bool = False

    def __post_init__(self) -> None:
        _operator_name(self.name, None)
        low = _value(self.min, f"the minimum of the range of {self.name!r}")
        high = _value(self.max, f"the maximum of the range of {self.name!r}")
        if isinstance(low, str) != isinstance(high, str):
            raise ProtocolError(f"the range of {self.name!r} mixes a string and a number; make both the same kind")
        object.__setattr__(self, "min", low)
        object.__setattr__(self, "max", high)

    @property
    def local(self) -> str:
        """The element name: ``strRange``, ``numNRange``, ..."""
        return ("str" if isinstance(self.min, str) else "num") + ("NRange" if self.outside else "Range")


@dataclasses.dataclass(frozen=True)
class Mask:
    """Things whose string tag ``name`` matches ``value``, where ``wildcard`` stands for any text."""

    name: str
    value: str
    wildcard: str = "*"

    def __post_init__(self) -> None:
        _operator_name(self.name, None)
        if not isinstance(self.value, str):
            raise TypeError(f"a mask is a str, not {self.value!r}")
        _string_value(self.value, f"the mask of {self.name!r}")
        if not _text(self.wildcard, "a wildcard"):
            raise ProtocolError("the wildcard of a mask is empty; give the character that stands for any text")

    local = "strMask"


Operator: TypeAlias = Compare | Range | Mask


@dataclasses.dataclass(frozen=True)
class Search:
    """Public claimed things meeting every operator; skip ``offset``, return at most ``max_count``."""

    operators: tuple[Operator, ...]
    offset: int = 0
    max_count: int | None = None
    distributed: bool = False  # read and kept; this registry never forwards searches
    namespace: str = _NS

    def __post_init__(self) -> None:
        operators = tuple(self.operators)
        if not operators:
            raise ProtocolError("a search needs at least one operator (strEq, numRange, strMask, ...)")
        if len(operators) > MAX_OPERATORS:
            raise ProtocolError(f"a search may have at most {MAX_OPERATORS} operators, not {len(operators)}")
        for op in operators:
            if not isinstance(op, (Compare, Range, Mask)):
                raise TypeError(f"search operators are Compare, Range or Mask, not {op!r}")
        object.__setattr__(self, "operators", operators)
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or self.offset < 0:
            raise ProtocolError(f"offset must be a non-negative int, not {self.offset!r}")
        if self.max_count is not None and (
            isinstance(self.max_count, bool) or not isinstance(self.max_count, int) or self.max_count < 1
        ):
            raise ProtocolError(f"maxCount must be a positive int or None, not {self.max_count!r}")


@dataclasses.dataclass(frozen=True)
class FoundThing:
    """One search hit: the thing's bare ``jid``, its node, its tags (never KEY), its ``owner`` (see module doc)."""

    jid: str
    tags: tuple[Tag, ...]
    node: NodeAddress = NO_NODE
    owner: str | None = None

    def __post_init__(self) -> None:
        check_jid(self.jid, "the JID of a found thing")
        object.__setattr__(self, "tags", check_tags(self.tags))
        _node(self.node)
        if self.owner is not None:
            check_jid(self.owner, "the owner of a found thing")


@dataclasses.dataclass(frozen=True)
class Found:
    """A page of search hits; ``more`` says a later ``offset`` finds further ones."""

    things: tuple[FoundThing, ...] = ()
    more: bool = False
    namespace: str = _NS

    def __post_init__(self) -> None:
        object.__setattr__(self, "things", tuple(self.things))


# --- building ---------------------------------------------------------------------------------


def _element(local: str, ns: str) -> ET.Element:
    return ET.Element(x.qname(x.check_namespace(ns, NAMESPACES, "registry"), local))


def _add_tags(parent: ET.Element, tags: Iterable[Tag], ns: str) -> None:
    for tag in tags:
        if tag.numeric:
            value = format_double(tag.value)  # type: ignore[arg-type]  # numeric: a float
            ET.SubElement(parent, x.qname(ns, "num"), {"name": tag.name, "value": value})
        else:
            ET.SubElement(parent, x.qname(ns, "str"), {"name": tag.name, "value": str(tag.value)})


def _meta(local: str, tags: Iterable[Tag], node: NodeAddress, ns: str) -> ET.Element:
    element = _element(local, ns)
    _write_node(element, node)
    _add_tags(element, tags, ns)
    return element


def build_register(request: Register, ns: str = DISCOVERY) -> ET.Element:
    element = _meta("register", request.tags, request.node, ns)
    x.put_true(element, "selfOwned", request.self_owned)
    return element


def build_mine(request: Mine, ns: str = DISCOVERY) -> ET.Element:
    element = _meta("mine", request.tags, request.node, ns)
    if not request.public:  # the default is true
        element.set("public", format_boolean(False))
    return element


def build_update(request: Update, ns: str = DISCOVERY) -> ET.Element:
    element = _meta("update", request.tags, request.node, ns)
    x.put(element, "jid", request.jid)
    return element


def build_claimed(claimed: Claimed, ns: str = DISCOVERY) -> ET.Element:
    """``<claimed>``, always with ``public`` written out: the page and the schema differ on its default."""
    element = _element("claimed", ns)
    element.set("jid", claimed.jid)
    _write_node(element, claimed.node)
    element.set("public", format_boolean(claimed.public))
    return element


def _ref(local: str, jid: str | None, node: NodeAddress, ns: str) -> ET.Element:
    element = _element(local, ns)
    x.put(element, "jid", jid)
    _write_node(element, node)
    return element


def build_remove(request: Remove, ns: str = DISCOVERY) -> ET.Element:
    return _ref("remove", request.jid, request.node, ns)


def build_disown(request: Disown, ns: str = DISCOVERY) -> ET.Element:
    return _ref("disown", request.jid, request.node, ns)


def build_removed(notice: Removed, ns: str = DISCOVERY) -> ET.Element:
    return _ref("removed", None, notice.node, ns)


def build_unregister(request: Unregister, ns: str = DISCOVERY) -> ET.Element:
    return _ref("unregister", None, request.node, ns)


def build_disowned(notice: Disowned, ns: str = DISCOVERY) -> ET.Element:
    return _ref("disowned", None, notice.node, ns)


def format_value(value: str | float) -> str:
    return value if isinstance(value, str) else format_double(value)


def _operator_element(op: Operator, ns: str) -> ET.Element:
    element = ET.Element(x.qname(ns, op.local), {"name": op.name})
    if isinstance(op, Compare):
        x.put(element, "nameWildcard", op.name_wildcard)
        element.set("value", format_value(op.value))
    elif isinstance(op, Range):
        element.set("min", format_value(op.min))
        element.set("minIncluded", format_boolean(op.min_included))
        element.set("max", format_value(op.max))
        element.set("maxIncluded", format_boolean(op.max_included))
    else:
        element.set("value", op.value)
        element.set("wildcard", op.wildcard)
    return element


def build_search(search: Search, ns: str = DISCOVERY) -> ET.Element:
    element = _element("search", ns)
    element.set("offset", str(search.offset))
    if search.max_count is not None:
        element.set("maxCount", str(search.max_count))
    x.put_true(element, "distributed", search.distributed)
    element.extend(_operator_element(op, ns) for op in search.operators)
    return element


def build_found(found: Found, ns: str = DISCOVERY) -> ET.Element:
    element = _element("found", ns)
    element.set("more", format_boolean(found.more))
    for thing in found.things:
        child = ET.SubElement(element, x.qname(ns, "thing"), {"jid": thing.jid})
        x.put(child, "owner", thing.owner)
        _write_node(child, thing.node)
        _add_tags(child, thing.tags, ns)
    return element


# --- parsing ----------------------------------------------------------------------------------


def _read_number(element: ET.Element, name: str) -> float:
    text = x.required(element, name)
    return x.lexical(element, name, parse_double, text)[0]


def _read_tags(element: ET.Element, ns: str) -> tuple[Tag, ...]:
    x.check_limit(len(element), MAX_TAGS, "tags", element)
    tags = []
    for local, child in x.children(element, ns):
        if local == "str":
            tags.append(Tag(x.required(child, "name"), x.required(child, "value")))
        elif local == "num":
            tags.append(Tag(x.required(child, "name"), _read_number(child, "value")))
    return tuple(tags)


@x.guard
def parse_register(element: ET.Element) -> Register:
    ns, _ = x.expect(element, NAMESPACES, ("register",))
    self_owned = x.boolean(element, "selfOwned", lenient=True)
    return Register(_read_tags(element, ns), _read_node(element), self_owned, ns)


@x.guard
def parse_mine(element: ET.Element) -> Mine:
    ns, _ = x.expect(element, NAMESPACES, ("mine",))
    public = x.boolean(element, "public", default=True, lenient=True)
    return Mine(_read_tags(element, ns), public, _read_node(element), ns)


@x.guard
def parse_update(element: ET.Element) -> Update:
    ns, _ = x.expect(element, NAMESPACES, ("update",))
    return Update(_read_tags(element, ns), _read_node(element), x.optional(element, "jid", MAX_JID_LENGTH), ns)


@x.guard
def parse_claimed(element: ET.Element) -> Claimed:
    ns, _ = x.expect(element, NAMESPACES, ("claimed",))
    public = x.boolean(element, "public", lenient=True)  # the schema's default, false
    return Claimed(x.required(element, "jid", MAX_JID_LENGTH), _read_node(element), public, ns)


_R = TypeVar("_R", bound=_OwnersRequest)
_N = TypeVar("_N", bound=_NodeOnly)


def _read_request(element: ET.Element, local: str, kind: type[_R]) -> _R:
    ns, _ = x.expect(element, NAMESPACES, (local,))
    return kind(x.required(element, "jid", MAX_JID_LENGTH), _read_node(element), ns)


def _read_node_only(element: ET.Element, local: str, kind: type[_N]) -> _N:
    ns, _ = x.expect(element, NAMESPACES, (local,))
    return kind(_read_node(element), ns)


@x.guard
def parse_remove(element: ET.Element) -> Remove:
    return _read_request(element, "remove", Remove)


@x.guard
def parse_disown(element: ET.Element) -> Disown:
    return _read_request(element, "disown", Disown)


@x.guard
def parse_removed(element: ET.Element) -> Removed:
    return _read_node_only(element, "removed", Removed)


@x.guard
def parse_unregister(element: ET.Element) -> Unregister:
    return _read_node_only(element, "unregister", Unregister)


@x.guard
def parse_disowned(element: ET.Element) -> Disowned:
    return _read_node_only(element, "disowned", Disowned)


_COMPARISONS = {
    kind + c.value: c for kind in ("str", "num") for c in Comparison if (kind, c) != ("num", Comparison.REGEX)
}
_RANGES = {"strRange": False, "strNRange": True, "numRange": False, "numNRange": True}


def _read_operator(local: str, element: ET.Element) -> Operator | None:
    numeric = local.startswith("num")
    read = (lambda name: _read_number(element, name)) if numeric else (lambda name: x.required(element, name))
    name = x.required(element, "name")
    if local in _COMPARISONS:
        return Compare(name, _COMPARISONS[local], read("value"), x.optional(element, "nameWildcard"))
    if local in _RANGES:
        min_included = x.boolean(element, "minIncluded", default=True, lenient=True)
        max_included = x.boolean(element, "maxIncluded", default=True, lenient=True)
        return Range(name, read("min"), read("max"), min_included, max_included, _RANGES[local])
    if local == "strMask":
        return Mask(name, x.required(element, "value"), x.required(element, "wildcard"))
    return None


def _read_count(element: ET.Element, name: str) -> int | None:
    text = x.optional(element, name)
    return None if text is None else x.lexical(element, name, parse_integer, text, bits=64)


@x.guard
def parse_search_element(element: ET.Element) -> Search:
    """A ``<search>``; unknown children are skipped, but one operator at least must be known."""
    ns, _ = x.expect(element, NAMESPACES, ("search",))
    x.check_limit(len(element), MAX_OPERATORS, "operators", element)
    operators = [op for local, child in x.children(element, ns) if (op := _read_operator(local, child))]
    offset = _read_count(element, "offset") or 0
    distributed = x.boolean(element, "distributed", lenient=True)
    return Search(tuple(operators), offset, _read_count(element, "maxCount"), distributed, ns)


@x.guard
def parse_found(element: ET.Element) -> Found:
    ns, _ = x.expect(element, NAMESPACES, ("found",))
    x.check_limit(len(element), MAX_FOUND, "things", element)
    things = []
    for local, child in x.children(element, ns):
        if local == "thing":
            jid = x.required(child, "jid", MAX_JID_LENGTH)
            owner = x.optional(child, "owner", MAX_JID_LENGTH)
            things.append(FoundThing(jid, _read_tags(child, ns), _read_node(child), owner))
    return Found(tuple(things), x.boolean(element, "more", lenient=True), ns)


_PARSERS = {
    "register": parse_register,
    "mine": parse_mine,
    "update": parse_update,
    "claimed": parse_claimed,
    "remove": parse_remove,
    "removed": parse_removed,
    "unregister": parse_unregister,
    "disown": parse_disown,
    "disowned": parse_disowned,
    "search": parse_search_element,
    "found": parse_found,
}

Element: TypeAlias = (
    Register | Mine | Update | Claimed | Remove | Removed | Unregister | Disown | Disowned | Search | Found
)


def parse(element: ET.Element) -> Element:
    """Any element of this protocol, by its name."""
    parsers: dict[str, Callable[[ET.Element], Element]] = _PARSERS  # type: ignore[assignment]  # each returns a member
    return x.dispatch(element, NAMESPACES, parsers)
