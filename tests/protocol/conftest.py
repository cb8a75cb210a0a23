import pytest

from .schema import schema as _schema


@pytest.fixture(scope="session")
def nfi_schema(tmp_path_factory):
    """The neuro-foundation.io schemas, loaded once (see tests/protocol/schema.py)."""
    return _schema(tmp_path_factory)
