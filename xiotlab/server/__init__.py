"""Server layer: the private Prosody a lab starts, owns and stops, with its accounts and CA.

Independent of every other layer but the error hierarchy.
"""

from .accounts import Credentials
from .lab import DEFAULT_DOMAIN, LabServer, default_home

__all__ = ["Credentials", "DEFAULT_DOMAIN", "LabServer", "default_home"]
