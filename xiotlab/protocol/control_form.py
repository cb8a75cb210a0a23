"""The control form (XEP-0004 with XEP-0122, XEP-0141 and XEP-0336), mapped to and from typed parameters.

A thing answers ``<getForm/>`` (:mod:`.control`) with this form; an owner
reads it back into :class:`~.parameters.ControlParameter` descriptions. Each
parameter is one field, in order, since order is the order a device wants
parameters set in:

* type: ``boolean`` fields for booleans, ``list-single`` with ``<option/>``s for
  parameters with options (enumerations always), ``text-single`` otherwise;
* XEP-0122 ``<validate datatype=...>``: the XML Schema type of the parameter's
  value type (``xs:int``, ``xs:long``, ``xs:double``, ``xs:date``,
  ``xs:dateTime``, ``xs:time``, ``xs:duration``, ``xs:boolean``,
  ``xs:string``), and XEP-0331's ``xdc:Color`` / ``xdc:ColorAlpha``; a
  ``<range min max/>`` for bounds, a ``<regex/>`` for string patterns and colors;
* XEP-0336: ``<notSame/>`` on every field (the control pages require it, so a
  form submitted untouched sets nothing), ``<readOnly/>``, ``<undefinedValue/>``
  when the current value is unknown; a hidden ``xdd session`` field if given;
* XEP-0141 ``<page label=...>`` with ``<fieldref/>``s for :attr:`ControlParameter.page`;
* ``<pGroup n=.../>`` in the control namespace for parameters set together
  (``<parameterGroup name=/>`` in the legacy dialect);
* what XEP-0122 cannot say goes in xiotlab's own namespace
  (:data:`~xiotlab.protocol.namespaces.XIOTLAB_CONTROL_FORM`): ``<step v=/>`` and
  ``<enum t=/>`` (the enumeration's type name, which the typed ``<e/>`` needs).

So a parameter list survives form and back unchanged; forms from other
devices (IoTGateway's, the spec's examples) map onto the nearest types.

Schema notes: ``Control.xsd`` names the pGroup attribute ``n`` (the page's
example says ``name``): xiotlab sends what the schema says and reads either.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from ..errors import ProtocolError
from . import dataforms
from .control import MAX_DEPTH, MAX_ELEMENTS, MAX_PARAMETERS, NAMESPACES, SESSION_FIELD
from .elements import check_bounds, check_namespace, expect, guard, qname, split, xml_text
from .namespaces import CONTROL, LEGACY_CONTROL, XDATA_DYNAMIC, XDATA_LAYOUT, XIOTLAB_CONTROL_FORM
from .parameters import ControlForm, ControlParameter, ParameterOption, ParameterType, to_lexical

__all__ = ["build_control_form", "parse_control_form"]

T = ParameterType
_XDD = f"{{{XDATA_DYNAMIC}}}"
_XDL = f"{{{XDATA_LAYOUT}}}"
_XIOT = f"{{{XIOTLAB_CONTROL_FORM}}}"
_CONTROL_NAMESPACES = (*NAMESPACES, LEGACY_CONTROL)

# Datatypes other devices put in forms, read as the nearest parameter type.
_FROM_DATATYPE = {
    "xs:boolean": T.BOOLEAN,
    "xs:date": T.DATE,
    "xs:datetime": T.DATETIME,
    "xs:double": T.DOUBLE,
    "xs:duration": T.DURATION,
    "xs:int": T.INT,
    "xs:long": T.LONG,
    "xs:string": T.STRING,
    "xs:time": T.TIME,
    "xs:byte": T.INT,
    "xs:short": T.INT,
    "xs:integer": T.LONG,
    "xs:decimal": T.DOUBLE,
    "xs:float": T.DOUBLE,
    "xdc:color": T.COLOR,
    "xdc:coloralpha": T.COLOR,
}


def _color_alpha(p: ControlParameter) -> bool:
    return isinstance(p.value, str) and len(p.value) == 8


def _field(p: ControlParameter, namespace: str) -> dataforms.Field:
    def lexical(v: Any) -> str:
        return to_lexical(p.type, v)

    if p.type is T.BOOLEAN:
        ftype = "boolean"
    elif p.options or p.type is T.ENUM:
        ftype = "list-single"
    else:
        ftype = "text-single"
    value_type = p.type.value_type
    if value_type is None:  # a color, whose XEP-0331 datatype says whether it has an alpha channel
        alpha = _color_alpha(p)
        datatype = "xdc:ColorAlpha" if alpha else "xdc:Color"
        validation = dataforms.Validation(datatype, "regex", regex=f"^[0-9a-fA-F]{{{8 if alpha else 6}}}$")
    elif p.min is not None or p.max is not None:
        low = "" if p.min is None else lexical(p.min)
        high = "" if p.max is None else lexical(p.max)
        validation = dataforms.Validation(value_type.xsd, "range", low, high)
    elif p.pattern:
        validation = dataforms.Validation(value_type.xsd, "regex", regex=p.pattern)
    else:
        validation = dataforms.Validation(value_type.xsd, "basic")
    ext = [ET.Element(_XDD + "notSame")]
    if p.read_only:
        ext.append(ET.Element(_XDD + "readOnly"))
    if p.value is None:
        ext.append(ET.Element(_XDD + "undefinedValue"))
    if p.group:
        if namespace == LEGACY_CONTROL:
            ext.append(ET.Element(qname(namespace, "parameterGroup"), name=p.group))
        else:
            ext.append(ET.Element(qname(namespace, "pGroup"), n=p.group))
    if p.step is not None:
        ext.append(ET.Element(_XIOT + "step", v=lexical(p.step)))
    if p.type is T.ENUM:
        ext.append(ET.Element(_XIOT + "enum", t=p.enum_type))
    return dataforms.Field(
        p.name,
        ftype,
        p.label,
        p.description,
        values=() if p.value is None else (lexical(p.value),),
        options=tuple(dataforms.Option(lexical(o.value), o.label) for o in p.options),
        validation=validation,
        extensions=tuple(ext),
    )


def build_control_form(
    parameters: Iterable[ControlParameter], *, title: str = "", session: str = "", namespace: str = CONTROL
) -> ET.Element:
    """The control form (``<x type='form' xmlns='jabber:x:data'/>``) describing ``parameters``.

    This element is the whole payload of the iq result to ``<getForm/>``.
    ``namespace`` is the control namespace the request came in (it qualifies
    the parameter group elements); ``session`` adds a hidden XEP-0336 session field.
    """
    check_namespace(namespace, _CONTROL_NAMESPACES, "control")
    params = list(parameters)
    if len(params) > MAX_PARAMETERS:
        raise ProtocolError(f"a control form may describe at most {MAX_PARAMETERS} parameters")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ProtocolError("two control parameters share a name; names must be unique in a form")
    if SESSION_FIELD in names:
        raise ProtocolError(f"{SESSION_FIELD!r} is reserved for the form session; rename that parameter")
    pages: dict[str, ET.Element] = {}
    for p in params:
        if p.page:
            if p.page not in pages:
                pages[p.page] = ET.Element(_XDL + "page", label=p.page)
            ET.SubElement(pages[p.page], _XDL + "fieldref", var=p.name)
    fields = [dataforms.Field(SESSION_FIELD, "hidden", values=(session,))] if session else []
    fields += [_field(p, namespace) for p in params]
    xml_text(title, "form title")
    xml_text(session, "form session")
    return dataforms.build_form(
        dataforms.DataForm("form", title, fields=tuple(fields), extensions=tuple(pages.values()))
    )


@guard
def parse_control_form(element: ET.Element) -> ControlForm:
    """A control form back to typed :class:`ControlParameter` descriptions.

    Fields that cannot be control parameters (hidden, fixed, multi-valued
    lists) are skipped. Raises ProtocolError for malformed forms and for a
    field whose value or bounds do not fit its type, naming the field.
    """
    expect(element, (dataforms.DATA_FORMS,), ("x",))
    check_bounds(element, MAX_ELEMENTS, MAX_DEPTH)
    form = dataforms.parse_form(element)
    if len(form.fields) > MAX_PARAMETERS + 1:
        raise ProtocolError(f"a control form may describe at most {MAX_PARAMETERS} parameters")
    pages: dict[str, str] = {}
    for ext in form.extensions:
        if ext.tag == _XDL + "page":
            for ref in ext.iter(_XDL + "fieldref"):
                pages.setdefault(ref.get("var", ""), ext.get("label", ""))
    session, params = "", []
    for f in form.fields:
        if f.var == SESSION_FIELD:
            session = f.values[0] if f.values else ""
        elif f.var and f.type not in ("hidden", "fixed", "list-multi", "jid-multi"):
            params.append(_parameter(f, pages.get(f.var, "")))
    return ControlForm(tuple(params), form.title, session)


def _parameter(f: dataforms.Field, page: str) -> ControlParameter:
    group = ""
    ext: dict[str, ET.Element] = {}
    for e in f.extensions:
        ns, local = split(e.tag)
        if ns in _CONTROL_NAMESPACES and local in ("pGroup", "parameterGroup"):
            group = e.get("n") or e.get("name") or ""
        elif e.tag in (_XIOT + "step", _XIOT + "enum", _XDD + "readOnly", _XDD + "undefinedValue"):
            ext[local] = e
    v = f.validation or dataforms.Validation("")
    if "enum" in ext:
        t = T.ENUM
    elif f.type == "boolean":
        t = T.BOOLEAN
    else:
        t = _FROM_DATATYPE.get(v.datatype.lower(), T.STRING)
    raw: str | None
    if f.type == "text-multi":
        raw = "\n".join(f.values)
    else:
        raw = f.values[0] if f.values else None
    if "undefinedValue" in ext or (raw == "" and t not in (T.STRING, T.ENUM)):
        raw = None
    return ControlParameter(
        name=f.var,
        type=t,
        value=raw,
        label=f.label,
        description=f.desc,
        min=(v.minimum or None) if v.method == "range" and t.ordered else None,
        max=(v.maximum or None) if v.method == "range" and t.ordered else None,
        step=ext["step"].get("v") if "step" in ext and t.numeric else None,
        options=tuple(ParameterOption(o.value, o.label) for o in f.options),
        enum_type=ext["enum"].get("t", "") if "enum" in ext else "",
        pattern=v.regex if v.method == "regex" and t is T.STRING else "",
        read_only="readOnly" in ext,
        page=page,
        group=group,
    )
