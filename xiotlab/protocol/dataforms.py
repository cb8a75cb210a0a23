"""XEP-0004 data forms and XEP-0122 validation, as far as the control protocol needs them.

A :class:`DataForm` holds fields with their values and options as strings;
what the strings mean is the business of the protocol that carries the form
(see :mod:`xiotlab.protocol.control`). Elements a field or form carries from
other extensions (layout, dynamic forms, ...) are kept as they came, in
``extensions``, for that protocol to read.

Parsing is bounded: at most :data:`MAX_FIELDS` fields, :data:`MAX_OPTIONS`
options and :data:`MAX_VALUES` values per field, :data:`MAX_TEXT` characters
per text and label, :data:`~.elements.MAX_NAME_LENGTH` per field name (a
control form's field names are parameter names, which answers echo); anything
beyond raises :class:`~xiotlab.errors.ProtocolError`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..errors import ProtocolError
from .elements import MAX_NAME_LENGTH, optional
from .namespaces import DATA_FORMS, XDATA_VALIDATE

MAX_FIELDS = 256
MAX_OPTIONS = 256
MAX_VALUES = 256
MAX_TEXT = 65536

FORM_TYPES = ("form", "submit", "cancel", "result")
FIELD_TYPES = (
    "boolean",
    "fixed",
    "hidden",
    "jid-multi",
    "jid-single",
    "list-multi",
    "list-single",
    "text-multi",
    "text-private",
    "text-single",
)

_X = f"{{{DATA_FORMS}}}"
_V = f"{{{XDATA_VALIDATE}}}"


@dataclass(frozen=True)
class Option:
    """One choice of a list field: the value sent and the label shown."""

    value: str
    label: str = ""


@dataclass(frozen=True)
class Validation:
    """XEP-0122 validation of one field.

    ``method`` is ``basic``, ``open``, ``range`` or ``regex``; ``minimum`` and
    ``maximum`` are the range bounds as sent (lexical, either may be empty),
    ``regex`` the pattern.
    """

    datatype: str = "xs:string"
    method: str = "basic"
    minimum: str = ""
    maximum: str = ""
    regex: str = ""


@dataclass(frozen=True)
class Field:
    """One XEP-0004 field; ``extensions`` are the child elements of other namespaces."""

    var: str = ""
    type: str = "text-single"
    label: str = ""
    desc: str = ""
    required: bool = False
    values: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    validation: Validation | None = None
    extensions: tuple[ET.Element, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class DataForm:
    """A XEP-0004 form; ``extensions`` are its child elements of other namespaces."""

    type: str = "form"
    title: str = ""
    instructions: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    extensions: tuple[ET.Element, ...] = field(default=(), compare=False)

    def get_field(self, var: str) -> Field | None:
        """The first field named ``var``, or None."""
        return next((f for f in self.fields if f.var == var), None)


def build_validation(validation: Validation) -> ET.Element:
    """The ``<validate/>`` element of XEP-0122 for ``validation``."""
    v = ET.Element(_V + "validate", datatype=validation.datatype)
    if validation.method == "range":
        attrs = {k: val for k, val in (("min", validation.minimum), ("max", validation.maximum)) if val}
        ET.SubElement(v, _V + "range", attrs)
    elif validation.method == "regex":
        ET.SubElement(v, _V + "regex").text = validation.regex
    elif validation.method in ("basic", "open"):
        ET.SubElement(v, _V + validation.method)
    else:
        raise ProtocolError(
            f"unknown XEP-0122 validation method {validation.method!r}; use basic, open, range or regex"
        )
    return v


def parse_validation(element: ET.Element) -> Validation:
    """A ``<validate/>`` element back to a :class:`Validation`."""
    datatype = element.get("datatype") or "xs:string"
    method, lo, hi, regex = "basic", "", "", ""
    for child in element:
        local = child.tag.removeprefix(_V)
        if local == "range":
            method, lo, hi = "range", child.get("min", ""), child.get("max", "")
        elif local == "regex":
            method, regex = "regex", _text(child, "validation regex")
        elif local in ("basic", "open"):
            method = local
        elif local == "list-range":
            continue  # only meaningful for list-multi, which control does not use
        else:
            raise ProtocolError(f"unexpected {child.tag!r} inside an XEP-0122 <validate/>; remove it")
        if len(child):
            raise ProtocolError(f"XEP-0122 <{local}/> must not have child elements")
    return Validation(datatype, method, lo, hi, regex)


def build_form(form: DataForm) -> ET.Element:
    """The ``<x xmlns='jabber:x:data'/>`` element of ``form``."""
    if form.type not in FORM_TYPES:
        raise ProtocolError(f"data form type {form.type!r} is not one of {', '.join(FORM_TYPES)}")
    x = ET.Element(_X + "x", type=form.type)
    if form.title:
        ET.SubElement(x, _X + "title").text = form.title
    for line in form.instructions:
        ET.SubElement(x, _X + "instructions").text = line
    x.extend(form.extensions)
    for f in form.fields:
        x.append(build_field(f))
    return x


def build_field(f: Field) -> ET.Element:
    """One ``<field/>``: description, required flag, values, options, then extensions."""
    if f.type not in FIELD_TYPES:
        raise ProtocolError(f"data form field type {f.type!r} is not one of {', '.join(FIELD_TYPES)}")
    attrs = {"type": f.type}
    if f.var:
        attrs["var"] = f.var
    if f.label:
        attrs["label"] = f.label
    el = ET.Element(_X + "field", attrs)
    if f.desc:
        ET.SubElement(el, _X + "desc").text = f.desc
    if f.required:
        ET.SubElement(el, _X + "required")
    for value in f.values:
        ET.SubElement(el, _X + "value").text = value
    for option in f.options:
        o = ET.SubElement(el, _X + "option", {"label": option.label} if option.label else {})
        ET.SubElement(o, _X + "value").text = option.value
    if f.validation is not None:
        el.append(build_validation(f.validation))
    el.extend(f.extensions)
    return el


def parse_form(element: ET.Element) -> DataForm:
    """An ``<x xmlns='jabber:x:data'/>`` element to a :class:`DataForm`.

    Raises ProtocolError for anything malformed or beyond the limits.
    """
    if element.tag != _X + "x":
        raise ProtocolError(f"expected a jabber:x:data <x/>, got {element.tag!r}")
    form_type = element.get("type", "")
    if form_type not in FORM_TYPES:
        raise ProtocolError(f"data form type {form_type!r} is not one of {', '.join(FORM_TYPES)}")
    title = ""
    instructions: list[str] = []
    fields: list[Field] = []
    own, extensions = _own_children(element)
    for local, child in own:
        if local == "title":
            title = _text(child, "form title")
        elif local == "instructions":
            instructions.append(_text(child, "form instructions"))
        elif local == "field":
            if len(fields) >= MAX_FIELDS:
                raise ProtocolError(f"data form has more than {MAX_FIELDS} fields; split it")
            fields.append(parse_field(child))
        elif local in ("reported", "item"):
            continue  # multi-item results; no control form uses them
        else:
            raise ProtocolError(f"unexpected <{local}/> in a data form; XEP-0004 does not define it")
    return DataForm(form_type, title, tuple(instructions), tuple(fields), tuple(extensions))


def parse_field(element: ET.Element) -> Field:
    """One ``<field/>`` element to a :class:`Field`."""
    ftype = element.get("type") or "text-single"
    if ftype not in FIELD_TYPES:
        raise ProtocolError(f"data form field type {ftype!r} is not one of {', '.join(FIELD_TYPES)}")
    var = optional(element, "var", MAX_NAME_LENGTH) or ""
    desc, required = "", False
    values: list[str] = []
    options: list[Option] = []
    own, extensions = _own_children(element)
    validate = next((child for child in extensions if child.tag == _V + "validate"), None)
    if validate is not None:
        extensions.remove(validate)
    for local, child in own:
        if local == "desc":
            desc = _text(child, "field description")
        elif local == "required":
            required = True
        elif local == "value":
            if len(values) >= MAX_VALUES:
                raise ProtocolError(f"field {var!r} has more than {MAX_VALUES} values")
            values.append(_text(child, f"value of field {var!r}"))
        elif local == "option":
            if len(options) >= MAX_OPTIONS:
                raise ProtocolError(f"field {var!r} has more than {MAX_OPTIONS} options")
            options.append(_parse_option(child, var))
        else:
            raise ProtocolError(f"unexpected <{local}/> in data form field {var!r}")
    return Field(
        var,
        ftype,
        optional(element, "label", MAX_TEXT) or "",
        desc,
        required,
        tuple(values),
        tuple(options),
        None if validate is None else parse_validation(validate),
        tuple(extensions),
    )


def _own_children(element: ET.Element) -> tuple[list[tuple[str, ET.Element]], list[ET.Element]]:
    """``(local name, child)`` of the children in ``jabber:x:data``, and the children of other namespaces."""
    own, others = [], []
    for child in element:
        if child.tag.startswith(_X):
            own.append((child.tag.removeprefix(_X), child))
        else:
            others.append(child)
    return own, others


def _parse_option(element: ET.Element, var: str) -> Option:
    value = None
    for child in element:
        if child.tag != _X + "value" or value is not None:
            raise ProtocolError(f"an <option/> of field {var!r} must hold exactly one <value/>")
        value = _text(child, f"option of field {var!r}")
    if value is None:
        raise ProtocolError(f"an <option/> of field {var!r} has no <value/>")
    return Option(value, optional(element, "label", MAX_TEXT) or "")


def _text(element: ET.Element, what: str) -> str:
    if len(element):
        raise ProtocolError(f"the {what} must be plain text, not hold elements")
    text = element.text or ""
    if len(text) > MAX_TEXT:
        raise ProtocolError(f"the {what} is longer than {MAX_TEXT} characters")
    return text
