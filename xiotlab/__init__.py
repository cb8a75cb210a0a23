"""xiotlab: a Jupyter notebook as an Internet-of-Things lab on XMPP.

Start a private lab server, bring things and owners online, and let owners
decide who may befriend their things (or claim a factory-fresh thing by its
QR code, and answer through the lab's provisioning service who may read and
control it)::

    from xiotlab import LabServer, Thing, Owner

    with LabServer() as lab, Owner("alice", lab=lab) as alice, \\
            Thing("lamp", owner="alice", lab=lab) as lamp:
        alice.befriend("lamp")

In a notebook, ``%load_ext xiotlab`` adds the ``%xmpp`` and ``%%thing`` magics
(``%xmpp help``), and the widgets ``Roster``, ``LivePlot``, ``ControlPanel``,
``Inspector`` and ``NodeTree`` come from ``xiotlab`` too (imported on first
use: plain scripts never load the notebook stack).

Layers, each importing only those below it: ``protocol`` and ``server`` at
the bottom, then ``runtime``, ``roles``, ``faces``. Errors: ``xiotlab.errors``.
"""

from . import errors
from .protocol.parameters import ControlForm, ControlParameter, ParameterType
from .protocol.provisioning import RuleRange
from .protocol.sensordata import ReadoutRequest
from .protocol.values import Category, Duration, Field, NodeRef, QoS, ReadoutError, ValueType
from .roles import Contact, FriendRequest, Owner, Thing
from .roles.claim_code import ClaimCode
from .roles.claiming import RegistryEntry, SearchResult
from .roles.concentrator import Concentrator
from .roles.friendship import ControlRequest, ReadRequest
from .roles.nodes import Node
from .roles.readout import Readout
from .roles.stream import Stream
from .server import Credentials, LabServer
from .version import __version__ as __version__

__all__ = [
    # the lab and its participants
    "LabServer", "Credentials", "Thing", "Owner", "Contact", "FriendRequest", "RuleRange", "Concentrator", "Node",
    # the registry and provisioning
    "ReadRequest", "ControlRequest", "ClaimCode", "RegistryEntry", "SearchResult",
    # what reading and watching give
    "Readout", "Stream", "Field", "ReadoutError", "ReadoutRequest", "Category", "QoS", "ValueType", "Duration",
    "NodeRef",
    # controls
    "ControlForm", "ControlParameter", "ParameterType",
    # the notebook face
    "ControlPanel", "Inspector", "LivePlot", "NodeTree", "Roster",
    "errors",
]  # fmt: skip

_WIDGETS = {
    "Roster": "roster",
    "LivePlot": "live_plot",
    "ControlPanel": "control_panel",
    "Inspector": "inspector",
    "NodeTree": "node_tree",
}


def __getattr__(name: str):
    if name in _WIDGETS:
        import importlib

        return getattr(importlib.import_module(f".faces.widgets.{_WIDGETS[name]}", __name__), name)
    raise AttributeError(f"module 'xiotlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WIDGETS])


def load_ipython_extension(shell) -> None:
    """``%load_ext xiotlab``: the ``%xmpp`` and ``%%thing`` magics."""
    from .faces.magics import load_ipython_extension

    load_ipython_extension(shell)


def unload_ipython_extension(shell) -> None:
    from .faces.magics import unload_ipython_extension

    unload_ipython_extension(shell)
