"""Validate what xiotlab sends against the neuro-foundation.io XML schemas.

The schemas live in ``../shared/specs/nfi`` beside the repository (CI has
them there); ``XIOTLAB_SPECS`` points elsewhere. They import each other by
namespace without ``schemaLocation``, so all are loaded together. The data
forms schema they import is not among them: a lax stand-in of our own takes
its place, so forms are checked for placement, not for content.
"""

from __future__ import annotations

import functools
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SCHEMA_FILES = (
    "SensorData.xsd",
    "EventSubscription.xsd",
    "Control.xsd",
    "ProvisioningOwner.xsd",
    "ProvisioningDevice.xsd",
    "Discovery.xsd",
)

_DATA_FORMS_STANDIN = """<?xml version='1.0'?>
<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'
           targetNamespace='jabber:x:data' elementFormDefault='qualified'>
  <xs:element name='x'>
    <xs:complexType>
      <xs:sequence>
        <xs:any processContents='lax' minOccurs='0' maxOccurs='unbounded'/>
      </xs:sequence>
      <xs:anyAttribute processContents='lax'/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


# xiotlab's own extensions, validated with the specifications' schemas they extend.
EXTENSION_SCHEMAS = (Path(__file__).resolve().parents[2] / "xiotlab" / "protocol" / "series.xsd",)


def specs_dir() -> Path:
    env = os.environ.get("XIOTLAB_SPECS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "specs" / "nfi"


@functools.cache
def _schema(tmp_dir: str):
    import xmlschema

    standin = Path(tmp_dir) / "data-forms-standin.xsd"
    standin.write_text(_DATA_FORMS_STANDIN)
    files = [str(standin)] + [str(specs_dir() / f) for f in SCHEMA_FILES] + list(map(str, EXTENSION_SCHEMAS))
    return xmlschema.XMLSchema(files, build=True)


def schema(tmp_path_factory):
    """The combined schema; skips where the specifications are not beside the repo (CI has them)."""
    if not (specs_dir() / SCHEMA_FILES[0]).exists():
        pytest.skip(f"specifications not found at {specs_dir()} (CI has them in ../shared)")
    return _schema(str(tmp_path_factory.getbasetemp()))


def assert_valid(schema_, element: ET.Element) -> None:
    """Fail with the validator's first reasons if ``element`` does not validate."""
    errors = [str(e).split("\n\nSchema component")[0] for e in schema_.iter_errors(element)]
    assert not errors, ET.tostring(element, encoding="unicode") + "\n" + "\n".join(errors[:3])


# --- Concentrator.xsd, loaded apart and repaired in memory -----------------------------------------

CONCENTRATOR_XSD = "Concentrator.xsd"

_GLOBAL_ATTRIBUTE = re.compile(r"^\t<xs:attribute name='(\w+)' type='([\w:]+)'", re.MULTILINE)
_ATTRIBUTE_REF = re.compile(r"<xs:attribute ref='(\w+)'")
_NODE_REFERENCE_EVENT = re.compile(
    r"(<xs:complexType name='NodeReferenceEvent'>.*?<xs:extension base='NodeReference'>\s*)"
    r"<xs:attributeGroup ref='nodeReference'/>\s*",
    re.DOTALL,
)


def repair_concentrator_xsd(text: str) -> str:
    """Concentrator.xsd with its four faults repaired; each repair must apply, or this fails.

    1. ``NodeReferenceEvent`` extends ``NodeReference`` and adds its
       ``nodeReference`` attributes a second time: the repetition goes.
    2. Attributes referenced by ``ref`` (``ts``, ``timestamp``, ``command``,
       ...) are global, hence namespace-qualified; everyone (the page
       included) writes them unqualified: they become local declarations of
       the global's type.
    3. ``bools`` (the answer to ``containsNodes``) is a type without an
       element: the element is declared.
    4. The ``Color`` pattern is anchored with ``^``/``$``, literal characters
       in XML Schema: the anchors go.
    """
    text, count = _NODE_REFERENCE_EVENT.subn(r"\1", text)
    assert count == 1, "Concentrator.xsd changed: NodeReferenceEvent no longer repeats nodeReference"
    types = dict(_GLOBAL_ATTRIBUTE.findall(text))
    assert {"ts", "timestamp", "command"} <= types.keys(), "Concentrator.xsd changed: global attributes moved"
    text, count = _ATTRIBUTE_REF.subn(lambda m: f"<xs:attribute name='{m[1]}' type='{types[m[1]]}'", text)
    assert count > 0, "Concentrator.xsd changed: no attribute references left"
    assert "<xs:element name='bools'" not in text, "Concentrator.xsd changed: it declares <bools> now"
    text = text.replace("</xs:schema>", "\t<xs:element name='bools' type='bools'/>\n</xs:schema>")
    anchored = "<xs:pattern value='^[0-9a-fA-F]{6}$'/>"
    assert anchored in text, "Concentrator.xsd changed: the Color pattern is no longer anchored"
    return text.replace(anchored, "<xs:pattern value='[0-9a-fA-F]{6}'/>")


@functools.cache
def _concentrator_schema(tmp_dir: str):
    import xmlschema

    standin = Path(tmp_dir) / "data-forms-standin.xsd"
    standin.write_text(_DATA_FORMS_STANDIN)
    repaired = Path(tmp_dir) / "Concentrator-repaired.xsd"
    repaired.write_text(repair_concentrator_xsd((specs_dir() / CONCENTRATOR_XSD).read_text(encoding="utf-8-sig")))
    return xmlschema.XMLSchema([str(standin), str(repaired)], build=True)


def concentrator_schema(tmp_path_factory):
    """Concentrator.xsd, repaired (:func:`repair_concentrator_xsd`); skips where the specifications are absent."""
    if not (specs_dir() / CONCENTRATOR_XSD).exists():
        pytest.skip(f"specifications not found at {specs_dir()} (CI has them in ../shared)")
    return _concentrator_schema(str(tmp_path_factory.getbasetemp()))
