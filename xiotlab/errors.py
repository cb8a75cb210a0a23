"""Every error xiotlab raises, in one hierarchy.

Catch :class:`XiotlabError` for all of them, or a branch for one kind of
trouble. Each message says what went wrong and what to do about it.

    XiotlabError
    ├── LabError                 the private lab server
    │   ├── ProsodyNotInstalled
    │   ├── EjabberdNotInstalled   the other engine a lab can run on
    │   ├── MosquittoNotInstalled   the MQTT broker a lab can run
    │   ├── PortInUse
    │   ├── LabHomeNotWritable
    │   ├── LabAlreadyRunning
    │   ├── LabNotRunning
    │   ├── ServerStartFailed
    │   └── ServerCommandRefused   the running server refused an admin command
    ├── XmppError                talking to an XMPP server or peer
    │   ├── CannotConnect
    │   │   └── CertificateError
    │   ├── AuthenticationFailed
    │   ├── NotConnected
    │   │   └── ConnectionLost   the connection dropped while a call waited
    │   ├── Offline
    │   ├── TimedOut             (also a builtin TimeoutError)
    │   ├── Rejected
    │   ├── Forbidden
    │   └── StanzaError          any other error a peer answered with
    │       └── ParameterError   a control parameter was refused (also a ValueError)
    ├── ProtocolError            malformed or unsupported protocol data (also a ValueError)
    └── WrongThread              a blocking call made where it would deadlock
"""

from __future__ import annotations


class XiotlabError(Exception):
    """Base class of every error xiotlab raises."""


# --- the lab server ---------------------------------------------------------


class LabError(XiotlabError):
    """Something is wrong with the private lab server."""


class ProsodyNotInstalled(LabError):
    """The Prosody XMPP server is not installed on this machine."""


class EjabberdNotInstalled(LabError):
    """The ejabberd XMPP server, which ``LabServer(engine="ejabberd")`` runs, is not installed on this machine."""


class MosquittoNotInstalled(LabError):
    """The mosquitto MQTT broker, which a lab runs with ``mqtt=True``, is not installed on this machine."""


class PortInUse(LabError):
    """The port the lab server was asked to use is taken."""


class LabHomeNotWritable(LabError):
    """The lab's home directory cannot be created or written."""


class LabAlreadyRunning(LabError):
    """A lab server already runs under this lab home."""


class LabNotRunning(LabError):
    """No lab server runs under this lab home."""


class ServerStartFailed(LabError):
    """Prosody started but did not come up; the message quotes its log."""


class ServerCommandRefused(LabError):
    """The running lab server refused an administrative command (ejabberd's API): the message quotes its answer."""


class AdminShellError(LabError):
    """Prosody's admin shell refused a line it was asked (a Lua error): the message quotes its answer."""


class HandoutError(LabError):
    """A class server's hand-out cannot be made or read: the message says what is wrong with it."""


class FederationError(LabError):
    """A lab cannot federate as asked: an address, a domain or a CA to trust is wrong, or federation is off."""


# --- talking XMPP -----------------------------------------------------------


class XmppError(XiotlabError):
    """Something went wrong talking to an XMPP server or peer."""


class CannotConnect(XmppError):
    """The XMPP server could not be reached or the stream could not be set up."""


class CertificateError(CannotConnect):
    """The server's TLS certificate did not verify against the trusted authorities."""


class AuthenticationFailed(XmppError):
    """The server refused the account name or password."""


class NotConnected(XmppError):
    """The client is not online; call ``start()`` first."""


class ConnectionLost(NotConnected):
    """The connection to the server dropped while a call waited for its answer.

    The participant reconnects by itself (unless made with ``reconnect=False``);
    the call's outcome is unknown: make it again once ``participant.connection``
    says online, or simply call again (calls wait while it reconnects).
    """


class Offline(XmppError):
    """The peer is not online, or not a friend (so its presence, and address, are unknown)."""


class TimedOut(XmppError, TimeoutError):
    """An answer did not arrive within the stated timeout."""


class Rejected(XmppError):
    """A peer (or its owner) said no, for instance to a friend request."""


class Forbidden(XmppError):
    """A peer refused the request because the sender is not allowed to make it."""


class StanzaError(XmppError):
    """A peer answered with an XMPP error.

    ``condition`` is the defined condition (``item-not-found``, ...), ``text``
    the peer's human-readable explanation, ``kind`` the error type. Raised by a
    request handler, it is sent back as the error answer, ``details`` included.
    """

    def __init__(
        self,
        message: str,
        *,
        condition: str = "undefined-condition",
        text: str = "",
        kind: str = "cancel",
        details: tuple = (),
    ) -> None:
        super().__init__(message)
        self.condition = condition
        self.text = text or message
        self.kind = kind  # the XMPP error type: cancel, modify, auth or wait
        self.details = tuple(details)  # application elements that go inside <error/>


class ServerUnreachable(StanzaError):
    """A server could not pass the stanza on to the peer's server (``remote-server-not-found``/``-timeout``).

    Across labs this usually means the two labs do not federate, or do not trust each other:
    the message says so, and what to do.
    """


class ParameterError(StanzaError, ValueError):
    """A control parameter was refused: unknown, of the wrong type, or a value it does not take.

    ``parameter`` names it, ``text`` says why (this is what travels in the
    ``paramError`` element), ``condition`` is the stanza error condition it
    goes with (``bad-request`` or ``item-not-found``) and ``kind`` follows from
    it unless given; ``hint`` says what to do, when known. A thing raises it from validation before its handlers
    run (the control module puts the ``paramError`` into ``details``); an owner
    receives it when a device refused a set. ``others`` holds further
    ``(parameter, text)`` pairs when a device named more than one.
    """

    def __init__(
        self,
        parameter: str,
        text: str,
        *,
        condition: str = "bad-request",
        kind: str = "",
        hint: str = "",
        others: tuple[tuple[str, str], ...] = (),
        details: tuple = (),
    ) -> None:
        text = text or "the parameter was refused"
        message = f"control parameter {parameter!r}: {text}"
        if hint:
            message += f"; {hint}"
        # Error types as XEP-0325 tabulates them for these conditions.
        kind = kind or ("modify" if condition == "bad-request" else "wait" if condition == "conflict" else "cancel")
        super().__init__(message, condition=condition, text=text, kind=kind, details=details)
        self.parameter = parameter
        self.hint = hint  # what to do about it, when the refuser knows
        self.others = tuple(others)


# --- data and usage ---------------------------------------------------------


class ProtocolError(XiotlabError, ValueError):
    """Protocol data is malformed or unsupported; the message says which part."""


class WrongThread(XiotlabError, RuntimeError):
    """A blocking call was made on the xiotlab network thread, where it would deadlock.

    Inside callbacks that xiotlab runs for you, use the awaitable ``a...`` form
    of the call instead.
    """
