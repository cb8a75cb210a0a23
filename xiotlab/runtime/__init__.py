"""Runtime layer: the network thread, slixmpp clients, traces.

Every XMPP client of the process runs on one asyncio loop on a daemon thread
(:data:`network`). Callers on any other thread or loop reach it through the
paired forms that :func:`network_call` and :func:`blocking` make.
"""

from . import scram, secrets
from .client import DEFAULT_TIMEOUT, XmppClient
from .loop import blocking, network, network_call
from .observable import Observable
from .serving import ErrorReply
from .trace import Trace, TraceEntry
from .xmpp import Endpoint, small_tls_buffers

secrets.install()  # before any client exists: slixmpp logs the SASL exchange at DEBUG
scram.install()  # logins: SCRAM's key derivation in C
small_tls_buffers()  # a fleet's memory: 64 kB TLS read buffers, not 256 kB

__all__ = [
    "DEFAULT_TIMEOUT",
    "Endpoint",
    "ErrorReply",
    "Observable",
    "Trace",
    "TraceEntry",
    "XmppClient",
    "blocking",
    "network",
    "network_call",
]
