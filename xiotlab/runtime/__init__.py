"""Runtime layer: the network thread, slixmpp clients, traces.

Every XMPP client of the process runs on one asyncio loop on a daemon thread
(:data:`network`). Callers on any other thread or loop reach it through the
paired forms that :func:`network_call` and :func:`blocking` make.
"""

from .client import DEFAULT_TIMEOUT, Endpoint, ErrorReply, XmppClient
from .loop import blocking, network, network_call
from .observable import Observable
from .trace import Trace, TraceEntry

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
