"""Element plumbing shared by the sensor data, event and legacy modules (private).

Reading: every parser goes through :func:`guard`, so that whatever a hostile
or careless peer sends, the caller sees :class:`ProtocolError` and nothing
else. Parsers walk only the levels they know and never recurse into unknown
children, so deep nesting costs nothing.

Speed: a live event stream parses and builds tens of thousands of fields a
second, so the per-element helpers here avoid work on the success path.
Error messages (:func:`describe`, :func:`where`) are composed only when
raising, children are matched by a dict lookup of their whole tag
(:func:`tag_table`), and flag attributes are read and written through a
:class:`FlagTable` instead of probing every attribute the flag type has.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from ..errors import ProtocolError
from .values import (
    CATEGORY_ATTRIBUTES,
    QOS_ATTRIBUTES,
    UTC,
    Category,
    Field,
    NodeRef,
    QoS,
    ReadoutError,
    format_boolean,
    parse_boolean,
    parse_datetime,
)

F = TypeVar("F", bound=Callable)
FlagT = TypeVar("FlagT", bound=enum.Flag)
T = TypeVar("T")

UNFORESEEN = (
    ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError, RecursionError,
    decimal.InvalidOperation,
)
"""What a parser may raise without foreseeing it; :func:`guard` turns these into ``ProtocolError``."""


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
        raise ProtocolError(
            f"expected <{'>, <'.join(names)}> in one of {', '.join(namespaces)}; got {shown}. "
            "Pass the payload element inside the stanza, not the stanza itself"
        )
    return ns, local


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


def required(element: ET.Element, name: str) -> str:
    """A required attribute; ``ProtocolError`` naming it when missing."""
    value = element.get(name)
    if value is None:
        raise ProtocolError(f"{describe(element)} lacks the required attribute {name!r}; the sender must add it")
    if not isinstance(value, str):
        raise ProtocolError(f"attribute {name!r} of {describe(element)} is not text")
    return value


def optional(element: ET.Element, name: str) -> str | None:
    """An optional attribute, ``None`` when missing."""
    value = element.get(name)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(f"attribute {name!r} of {describe(element)} is not text")
    return value


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


def put(element: ET.Element, name: str, value: str | None) -> None:
    """Set an attribute unless the value is ``None``."""
    if value is not None:
        element.set(name, value)


def put_true(element: ET.Element, name: str, value: bool) -> None:
    """Set a boolean attribute to ``true`` when set; its default is false, so it is left out otherwise."""
    if value:
        element.set(name, format_boolean(True))


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


CATEGORIES = FlagTable(CATEGORY_ATTRIBUTES, Category(0))
"""The category attributes of requests, subscriptions and fields."""

QOS = FlagTable(QOS_ATTRIBUTES, QoS(0))
"""The QoS attributes of fields."""


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


# --- neuro-foundation attribute groups shared by requests and subscriptions -----------


def read_categories(element: ET.Element) -> Category:
    """The categories of a request, subscription or field; ``all="true"`` means all."""
    if boolean(element, "all"):
        return Category.ALL
    return read_flags(element, CATEGORIES)


def write_categories(element: ET.Element, categories: Category) -> None:
    """Categories of a request or subscription: ``all="true"`` for all, else one attribute each."""
    if categories == Category.ALL:
        element.set("all", format_boolean(True))
    else:
        write_flags(element, categories, CATEGORIES)


def read_tokens(element: ET.Element) -> dict[str, str | None]:
    """The service, device and user tokens (``st``, ``dt``, ``ut``) as keyword arguments."""
    return {
        "service_token": optional(element, "st"),
        "device_token": optional(element, "dt"),
        "user_token": optional(element, "ut"),
    }


def write_tokens(element: ET.Element, owner: object) -> None:
    """Write the tokens of a request or subscription."""
    put(element, "st", owner.service_token)  # type: ignore[attr-defined]
    put(element, "dt", owner.device_token)  # type: ignore[attr-defined]
    put(element, "ut", owner.user_token)  # type: ignore[attr-defined]


def read_node(element: ET.Element, *, id_required: bool = True) -> NodeRef:
    """A node reference from ``id``, ``src`` and ``pt``."""
    node_id = required(element, "id") if id_required else (optional(element, "id") or "")
    return NodeRef(node_id, optional(element, "src"), optional(element, "pt"))


def node_element(ns: str, node: NodeRef) -> ET.Element:
    """``<nd id src pt>``, the node reference of requests and the node of responses alike."""
    element = ET.Element(qname(ns, "nd"), id=node.id)
    put(element, "src", node.source)
    put(element, "pt", node.partition)
    return element


def read_selection(
    element: ET.Element, ns: str, *, max_nodes: int, max_fields: int, node_id_required: bool = True
) -> tuple[tuple[NodeRef, ...], list[ET.Element]]:
    """The ``<nd>`` references and the ``<f>`` elements of a request or subscription, limits enforced."""
    nodes: list[NodeRef] = []
    fields: list[ET.Element] = []
    for local, child in children(element, ns):
        if local == "nd":
            nodes.append(read_node(child, id_required=node_id_required))
            check_limit(len(nodes), max_nodes, "node references", element)
        elif local == "f":
            fields.append(child)
            check_limit(len(fields), max_fields, "field names", element)
    return tuple(nodes), fields


def group_by_node_and_time(items: Iterable) -> dict:
    """``{node: {timestamp: [items]}}`` of fields and errors, groups in order of first appearance.

    Both dialects nest data as node, then timestamp, then values.
    """
    groups: dict = {}
    for item in items:
        if not isinstance(item, (Field, ReadoutError)):
            raise TypeError(f"expected Field or ReadoutError, not {item!r}")
        groups.setdefault(item.node, {}).setdefault(item.timestamp, []).append(item)
    return groups


def check_limit(count: int, limit: int, what: str, element: ET.Element) -> None:
    """Refuse more than ``limit`` items; stops a peer from making us build huge objects."""
    if count > limit:
        raise ProtocolError(
            f"{describe(element)} carries more than {limit} {what}; xiotlab refuses more. "
            "The sender should split it into several requests or fragments"
        )


def check_namespace(ns: str, allowed: tuple[str, ...]) -> str:
    """For builders: refuse a namespace the dialect does not have."""
    if ns not in allowed:
        raise ValueError(f"namespace {ns!r} is not one of {', '.join(allowed)}")
    return ns


def unforeseen(element: ET.Element, exc: BaseException) -> ProtocolError:
    """The ``ProtocolError`` that stands for an :data:`UNFORESEEN` error met reading ``element``."""
    return ProtocolError(f"cannot read {describe(element)}: {exc}")


def guard(func: F) -> F:
    """Make a parser raise :class:`ProtocolError` and nothing else.

    Anything the parser did not foresee (a constructor refusing a value, an
    attribute that is not text, ...) becomes a ``ProtocolError`` that names
    the element, with the original exception chained.
    """

    @functools.wraps(func)
    def parser(element, *args, **kwargs):
        if not isinstance(element, ET.Element):
            raise ProtocolError(
                f"{func.__name__}() reads an xml.etree.ElementTree.Element, not {type(element).__name__}"
            )
        try:
            return func(element, *args, **kwargs)
        except ProtocolError:
            raise
        except UNFORESEEN as exc:
            raise unforeseen(element, exc) from exc

    return parser  # type: ignore[return-value]
