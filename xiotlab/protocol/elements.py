"""Element plumbing every dialect module reads and writes through.

Reading: parsers are wrapped in :func:`guard`, so that whatever a hostile or
careless peer sends, the caller sees a :class:`~xiotlab.errors.XiotlabError`
(:class:`ProtocolError` for malformed data) and nothing else. The sensor data
parsers walk only the levels they know and never recurse into unknown
children, so deep nesting costs nothing; the control parsers, which refuse
unknown children, first bound the whole tree (:func:`check_bounds`).

Names: the dialects spell the same things differently. A node reference is
``id``/``src``/``pt`` in the current dialect and ``nodeId``/``sourceId``/
``cacheType`` in the legacy one (:data:`NODE_ATTRIBUTES`,
:data:`LEGACY_NODE_ATTRIBUTES`), the tokens ``st``/``dt``/``ut`` or
``serviceToken``/``deviceToken``/``userToken``; one reader and one writer of
each take the names as a table.

Speed: a live event stream parses and builds tens of thousands of fields a
second, so the per-element helpers here avoid work on the success path.
Error messages (:func:`describe`, :func:`where`) are composed only when
raising, children are matched by a dict lookup of their whole tag
(:func:`tag_table`), and flag attributes are read and written through a
:class:`FlagTable` instead of probing every attribute the flag type has.

Limits
------
An attribute that names or identifies something (an id, a parameter name, a
node's id, source and partition, an enumeration type) may be at most
:data:`MAX_NAME_LENGTH` characters long, a token at most
:data:`MAX_TOKEN_LENGTH`: answers echo them, and a hostile peer's
200,000-character id would make the answer exceed the server's stanza limit.
:func:`required` and :func:`optional` refuse longer ones when given a
``limit``; :func:`read_node` and :func:`read_tokens` always apply these limits,
for every dialect. Longer values raise :class:`ProtocolError`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Concatenate, Generic, ParamSpec, TypeVar

from ..errors import ProtocolError, XiotlabError
from .values import UTC, NodeRef, check_xml_text, format_boolean, parse_boolean, parse_datetime

P = ParamSpec("P")
FlagT = TypeVar("FlagT", bound=enum.Flag)
T = TypeVar("T")

UNFORESEEN = (
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    OverflowError,
    RecursionError,
    decimal.InvalidOperation,
)
"""What a parser may raise without foreseeing it; :func:`guard` turns these into ``ProtocolError``."""

NODE_ATTRIBUTES = ("id", "src", "pt")
"""Attributes of a node reference's id, source and partition in the current dialect."""

LEGACY_NODE_ATTRIBUTES = ("nodeId", "sourceId", "cacheType")
"""The same in the legacy dialect, whose ``cacheType`` travels in :attr:`NodeRef.partition`."""

TOKEN_ATTRIBUTES = ("st", "dt", "ut")
"""Attributes of the service, device and user tokens in the current dialect."""

LEGACY_TOKEN_ATTRIBUTES = ("serviceToken", "deviceToken", "userToken")
"""The same in the legacy dialect."""

MAX_NAME_LENGTH = 1024
"""Most characters in an id, a parameter name, a node's id, source or partition, or an enumeration type."""

MAX_TOKEN_LENGTH = 4096
"""Most characters in a service, device or user token (room for a signed token, such as a JWT)."""

_STANZAS = ("iq", "message", "presence")


def qname(ns: str, local: str) -> str:
    """Clark notation ``{ns}local``."""
    return f"{{{ns}}}{local}"


def split(tag: object) -> tuple[str, str]:
    """``(namespace, local name)`` of a tag; comments and processing instructions give ``("", "")``."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def describe(element: ET.Element) -> str:
    """``<q n='Temperature'>``: how error messages point at an element."""
    _, local = split(element.tag)
    name = element.get("n") if isinstance(element.get("n"), str) else None
    ident = element.get("id") if isinstance(element.get("id"), str) else None
    for key, value in (("n", name), ("id", ident)):
        if value is not None:
            shown = value if len(value) <= 40 else value[:40] + "..."
            return f"<{local} {key}={shown!r}>"
    return f"<{local}>"


def expect(element: ET.Element, namespaces: Iterable[str], names: Iterable[str]) -> tuple[str, str]:
    """Check an element is one of ``names`` in one of ``namespaces``; return its namespace and name."""
    namespaces, names = tuple(namespaces), tuple(names)
    ns, local = split(element.tag)
    if local not in names or ns not in namespaces:
        shown = f"<{local}>" + (f" in namespace {ns!r}" if ns else " without namespace")
        hint = ". Pass the payload element inside the stanza, not the stanza itself" if local in _STANZAS else ""
        raise ProtocolError(f"expected <{'>, <'.join(names)}> in one of {', '.join(namespaces)}; got {shown}{hint}")
    return ns, local


def dispatch(element: ET.Element, namespaces: Iterable[str], parsers: Mapping[str, Callable[[ET.Element], T]]) -> T:
    """What the parser of ``element``'s name (a key of ``parsers``) reads: a dialect's ``parse()`` of any element."""
    _, local = expect(element, namespaces, parsers)
    return parsers[local](element)


def children(element: ET.Element, ns: str) -> Iterator[tuple[str, ET.Element]]:
    """``(local name, child)`` of each child element in namespace ``ns``; others are skipped."""
    for child in element:
        child_ns, local = split(child.tag)
        if local and child_ns == ns:
            yield local, child


def tag_table(ns: str, names: Iterable[str]) -> dict[str, str]:
    """``{"{ns}name": name}`` for :func:`known_children`; build it once per namespace."""
    return {qname(ns, name): name for name in names}


def known_children(element: ET.Element, tags: dict[str, str]) -> Iterator[tuple[str, ET.Element]]:
    """``(local name, child)`` of each child whose tag is in ``tags`` (a :func:`tag_table`); others are skipped.

    What :func:`children` gives, filtered to known names, with one dict
    lookup a child instead of splitting every tag.
    """
    for child in element:
        try:
            local = tags.get(child.tag)
        except TypeError:  # an unhashable tag, which only code can build: not one of ours
            continue
        if local is not None:
            yield local, child


def leaf(element: ET.Element) -> None:
    """Refuse child elements, for dialects that allow no extensions there."""
    if len(element):
        raise ProtocolError(f"{describe(element)} must be empty, but holds <{split(element[0].tag)[1]}>")


def required(element: ET.Element, name: str, limit: int | None = None) -> str:
    """A required attribute; ``ProtocolError`` naming it when missing, or longer than ``limit`` characters."""
    value = element.get(name)
    if value is None:
        raise missing(element, name)
    if not isinstance(value, str):
        raise ProtocolError(f"attribute {name!r} of {describe(element)} is not text")
    if limit is not None and len(value) > limit:
        raise _too_long(element, name, value, limit)
    return value


def optional(element: ET.Element, name: str, limit: int | None = None) -> str | None:
    """An optional attribute, ``None`` when missing; ``ProtocolError`` when longer than ``limit`` characters."""
    value = element.get(name)
    if value is not None:
        if not isinstance(value, str):
            raise ProtocolError(f"attribute {name!r} of {describe(element)} is not text")
        if limit is not None and len(value) > limit:
            raise _too_long(element, name, value, limit)
    return value


def missing(element: ET.Element, name: str) -> ProtocolError:
    """The error to raise when the required attribute ``name`` is missing."""
    return ProtocolError(f"{describe(element)} lacks the required attribute {name!r}; the sender must add it")


def _too_long(element: ET.Element, name: str, value: str, limit: int) -> ProtocolError:
    return ProtocolError(
        f"{where(element, name)} is {len(value)} characters long; xiotlab takes at most {limit}. "
        "The sender should shorten it"
    )


def where(element: ET.Element, name: str) -> str:
    """Where an attribute sits, for error messages."""
    return f"attribute {name!r} of {describe(element)}"


def lexical(element: ET.Element, name: str, parse: Callable[..., T], *args: object, **options: object) -> T:
    """``parse(*args, **options)`` of attribute ``name``; its ``ProtocolError`` says where the attribute sits.

    ``parse`` is one of the ``parse_*`` functions of :mod:`.values`, which
    take the place for their messages after ``args``. Composing it costs
    more than most parses, so it is composed only on failure: the text is
    parsed again, naming the place, which raises the same error, now placed.
    """
    try:
        return parse(*args, **options)
    except ProtocolError:
        pass  # parse again outside this handler, so that the error is not chained to the unplaced one
    return parse(*args, where(element, name), **options)


def boolean(element: ET.Element, name: str, default: bool = False, *, lenient: bool = False) -> bool:
    """An optional xs:boolean attribute."""
    text = optional(element, name)
    if text is None:
        return default
    return lexical(element, name, parse_boolean, text, lenient=lenient)


def timestamp(element: ET.Element, name: str, *, naive_tz: dt.tzinfo | None = UTC) -> dt.datetime | None:
    """An optional xs:dateTime attribute, in UTC."""
    text = optional(element, name)
    if text is None:
        return None
    value = lexical(element, name, parse_datetime, text, naive_tz=naive_tz)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ProtocolError(
            f"{where(element, name)}: {text!r} lies outside the years Python can represent once in UTC"
        ) from None


def xml_text(value: object, what: str) -> str:
    """``value`` if XML can carry it, for builders; ``ProtocolError`` naming ``what`` otherwise."""
    try:
        return check_xml_text(value, what)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(str(exc)) from None


def put(element: ET.Element, name: str, value: str | None) -> None:
    """Set an attribute unless the value is ``None``."""
    if value is not None:
        element.set(name, value)


def put_true(element: ET.Element, name: str, value: bool) -> None:
    """Set a boolean attribute to ``true`` when set; its default is false, so it is left out otherwise."""
    if value:
        element.set(name, format_boolean(True))


# --- flags as boolean attributes ---------------------------------------------------------


class FlagTable(Generic[FlagT]):
    """The boolean attribute of each flag of a :class:`enum.Flag` type, ready for quick reading and writing.

    ``enum.Flag`` operations (``|``, ``in``, even hashing) run Python code,
    a few hundred nanoseconds each, and a field carries two flag types of up
    to 14 members. So reading adds up plain int bits and writing looks the
    attribute names up; both results are cached per combination (at most
    2**members of them), keyed by int value.
    """

    def __init__(self, table: dict[FlagT, str], empty: FlagT) -> None:
        self.table = table
        self.empty = empty
        self.bits = {name: flag.value for flag, name in table.items()}
        self._flags: dict[int, FlagT] = {}
        self._names: dict[int, tuple[str, ...]] = {}

    def flags(self, bits: int) -> FlagT:
        """The flags of an OR of :attr:`bits` values."""
        flags = self._flags.get(bits)
        if flags is None:
            flags = self._flags[bits] = type(self.empty)(bits)
        return flags

    def names(self, flags: FlagT) -> tuple[str, ...]:
        """The attribute names of the flags set in ``flags``, in table order."""
        if type(flags) is not type(self.empty):  # anything else is not cached, and fails as it always did
            return self._names_of(flags)
        names = self._names.get(flags._value_)
        if names is None:
            names = self._names[flags._value_] = self._names_of(flags)
        return names

    def _names_of(self, flags: FlagT) -> tuple[str, ...]:
        return tuple(name for flag, name in self.table.items() if flag in flags)


def read_flags(element: ET.Element, table: FlagTable[FlagT], *, lenient: bool = False) -> FlagT:
    """The flags whose boolean attribute (named by ``table``) is true."""
    bits = 0
    flag_bits = table.bits
    # One pass over the few attributes an element has, instead of a probe for every flag;
    # the canonical "true" and "false" are all it needs to understand.
    for name, value in element.attrib.items():
        bit = flag_bits.get(name)
        if bit is None:
            continue
        if value == "true" and isinstance(value, str):
            bits |= bit
        elif not (value == "false" and isinstance(value, str)):
            return _read_flags_in_order(element, table, lenient=lenient)
    return table.flags(bits)


def _read_flags_in_order(element: ET.Element, table: FlagTable[FlagT], *, lenient: bool) -> FlagT:
    # Other spellings, and errors: attribute by attribute in table order, so that
    # of several bad attributes the first in that order is the one reported.
    flags = table.empty
    for flag, name in table.table.items():
        if boolean(element, name, lenient=lenient):
            flags |= flag
    return flags


def write_flags(element: ET.Element, flags: FlagT, table: FlagTable[FlagT]) -> None:
    """``name="true"`` for each flag set; unset flags are left out (their default is false)."""
    for name in table.names(flags):
        element.set(name, format_boolean(True))


# --- node references and tokens, under each dialect's names ---------------------------------


def read_node(
    element: ET.Element, names: tuple[str, str, str] = NODE_ATTRIBUTES, *, id_required: bool = True
) -> NodeRef:
    """A node reference from its id, source and partition attributes (``names``).

    Each may be at most :data:`MAX_NAME_LENGTH` characters long; a longer one raises ``ProtocolError``.
    """
    ident, source, partition = names
    limit = MAX_NAME_LENGTH
    node_id = required(element, ident, limit) if id_required else (optional(element, ident, limit) or "")
    return NodeRef(node_id, optional(element, source, limit), optional(element, partition, limit))


def node_element(tag: str, node: NodeRef, names: tuple[str, str, str] = NODE_ATTRIBUTES) -> ET.Element:
    """A ``tag`` element naming ``node``; a source or partition of ``None`` is left out, an empty one written."""
    ident, source, partition = names
    element = ET.Element(tag, {ident: node.id})
    put(element, source, node.source)
    put(element, partition, node.partition)
    return element


def add_nodes(
    parent: ET.Element, tag: str, nodes: Iterable[NodeRef], names: tuple[str, str, str] = NODE_ATTRIBUTES
) -> None:
    """One :func:`node_element` child of ``parent`` per node."""
    for node in nodes:
        if not isinstance(node, NodeRef):
            raise TypeError(f"nodes must be NodeRef instances, not {node!r}")
        parent.append(node_element(tag, node, names))


def node_refs(values: Iterable[NodeRef]) -> tuple[NodeRef, ...]:
    """``values`` as a tuple, for a value's constructor; ``TypeError`` unless each is a :class:`NodeRef`."""
    nodes = tuple(values)
    for node in nodes:
        if not isinstance(node, NodeRef):
            raise TypeError(f"nodes must be NodeRef instances, not {node!r}")
    return nodes


def texts(values: Iterable[str], what: str) -> tuple[str, ...]:
    """``values`` (names of fields, parameters...) as a tuple of text XML can carry, for a value's constructor.

    A single str is refused rather than split into its characters.
    """
    if isinstance(values, str):
        raise TypeError(f"{what} must be a sequence of str, not a single str; wrap it: ({values!r},)")
    return tuple(check_xml_text(v, what) for v in values)


def add_names(parent: ET.Element, ns: str, local: str, names: Iterable[str]) -> None:
    """One ``<local n=name/>`` child of ``parent`` per name (the ``<f>`` and ``<p>`` of selections)."""
    for name in names:
        ET.SubElement(parent, qname(ns, local), n=name)


def read_tokens(element: ET.Element, names: tuple[str, str, str] = TOKEN_ATTRIBUTES) -> dict[str, str | None]:
    """The service, device and user tokens as keyword arguments; ``None`` when absent.

    A token longer than :data:`MAX_TOKEN_LENGTH` characters raises ``ProtocolError``.
    """
    service, device, user = names
    return {
        "service_token": optional(element, service, MAX_TOKEN_LENGTH),
        "device_token": optional(element, device, MAX_TOKEN_LENGTH),
        "user_token": optional(element, user, MAX_TOKEN_LENGTH),
    }


def write_tokens(
    element: ET.Element,
    service_token: str | None,
    device_token: str | None,
    user_token: str | None,
    names: tuple[str, str, str] = TOKEN_ATTRIBUTES,
) -> None:
    """Write the tokens that are not ``None`` under ``names``."""
    for name, value in zip(names, (service_token, device_token, user_token), strict=True):
        if value is not None:
            element.set(name, xml_text(value, f"token {name}"))


# --- limits, namespaces, and the guard of parsers -----------------------------------------


def check_limit(count: int, limit: int, what: str, element: ET.Element) -> None:
    """Refuse more than ``limit`` items; stops a peer from making us build huge objects."""
    if count > limit:
        raise ProtocolError(
            f"{describe(element)} carries more than {limit} {what}; xiotlab takes at most {limit} {what}. "
            "The sender should split it into several requests or fragments"
        )


def check_bounds(element: ET.Element, max_elements: int, max_depth: int) -> None:
    """Refuse a tree of more than ``max_elements`` elements or deeper than ``max_depth``, before walking it."""
    stack = [(element, 0)]
    count = 0
    while stack:
        el, depth = stack.pop()
        count += 1
        if count > max_elements:
            raise ProtocolError(f"{describe(element)} holds more than {max_elements} elements; refusing it")
        if depth > max_depth:
            raise ProtocolError(f"{describe(element)} nests deeper than {max_depth} levels; refusing it")
        stack.extend((child, depth + 1) for child in el)


def check_namespace(ns: str, allowed: tuple[str, ...], dialect: str) -> str:
    """For builders: refuse a namespace ``dialect`` does not have."""
    if ns not in allowed:
        raise ProtocolError(f"{ns!r} is not a {dialect} namespace; use one of {', '.join(allowed)}")
    return ns


def unforeseen(element: ET.Element, exc: BaseException) -> ProtocolError:
    """The ``ProtocolError`` that stands for an :data:`UNFORESEEN` error met reading ``element``."""
    return ProtocolError(f"cannot read {describe(element)}: {exc}")


def guard(func: Callable[Concatenate[ET.Element, P], T]) -> Callable[Concatenate[ET.Element, P], T]:
    """Make a parser raise xiotlab's errors and nothing else.

    Anything the parser did not foresee (a constructor refusing a value, an
    attribute that is not text, ...) becomes a ``ProtocolError`` that names
    the element, with the original exception chained. Errors of xiotlab's
    own (a :class:`~xiotlab.errors.ParameterError` naming a refused value,
    say) pass unchanged.
    """

    @functools.wraps(func)
    def parser(element: ET.Element, *args: P.args, **kwargs: P.kwargs) -> T:
        if not isinstance(element, ET.Element):
            raise ProtocolError(
                f"{func.__name__}() reads an xml.etree.ElementTree.Element, not {type(element).__name__}"
            )
        try:
            return func(element, *args, **kwargs)
        except XiotlabError:
            raise
        except UNFORESEEN as exc:
            raise unforeseen(element, exc) from exc

    return parser
