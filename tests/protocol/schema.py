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
    files = [str(standin)] + [str(specs_dir() / f) for f in SCHEMA_FILES]
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
