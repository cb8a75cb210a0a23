"""xiotlab: a Jupyter notebook as an Internet-of-Things lab on XMPP.

Start a private lab server, bring things and owners online, and let owners
decide who may befriend their things::

    from xiotlab import LabServer, Thing, Owner

    with LabServer() as lab, Owner("alice", lab=lab) as alice, \\
            Thing("lamp", owner="alice", lab=lab) as lamp:
        alice.befriend("lamp")

Layers, each importing only those below it: ``protocol`` and ``server`` at
the bottom, then ``runtime``, ``roles``, ``faces``. Errors: ``xiotlab.errors``.
"""

from . import errors
from .protocol.provisioning import RuleRange
from .roles import Contact, FriendRequest, Owner, Thing
from .server import Credentials, LabServer

__version__ = "0.1.0"
__all__ = ["Contact", "Credentials", "FriendRequest", "LabServer", "Owner", "RuleRange", "Thing", "errors"]
