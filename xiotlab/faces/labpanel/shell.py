"""Prosody's admin shell, asked over its socket: who is online, with which presence.

``prosodyctl shell`` talks to the same socket (``data/prosody.sock`` in the lab home, mode
0700 directory: its user's only) with a tiny XML stream: each ``<repl-input>`` line is answered
by ``<repl-output>`` lines and one ``<repl-result>``. A line starting with ``>`` runs in the
server's own Lua environment; :data:`SESSIONS_LUA` uses that to list every client session with
its presence as JSON (the shell's ``c2s:show()`` prints a table without the status text).

One connection is kept and reused: a question costs a fraction of a millisecond, so polling it
a few times a second costs the server nothing noticeable. Each connection runs its lines one
after the other (a runner per shell session, in Prosody): a question that waits for clients,
such as :meth:`AdminShell.identities`, gets a connection of its own so it never delays a poll.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from ...errors import AdminShellError, LabNotRunning

TIMEOUT = 2.0
"""Seconds an answer of the shell may take before the question fails."""

_OPEN = (
    "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
    "xmlns='xmpp:prosody.im/admin' version='1.0'>"
)
_NS = "{xmpp:prosody.im/admin}"

SESSIONS_LUA = (
    '>local json = require "util.json"; local out = {}; '
    "for host_name, host in pairs(prosody.hosts) do for user, account in pairs(host.sessions or {}) do "
    "for resource, s in pairs(account.sessions or {}) do "
    "local p = s.presence; "
    "out[#out + 1] = { jid = user .. '@' .. host_name .. '/' .. resource, "
    "available = p ~= nil, show = p and (p:get_child_text('show') or 'online') or '', "
    "status = p and p:get_child_text('status') or '', "
    "hibernating = s.hibernating and true or false }; "
    "end end end; return json.encode(out)"
)


DISCO_TIMEOUT = 1
"""Seconds a client has to answer the server's disco#info question (:meth:`AdminShell.identities`)."""

DISCO_BATCH = 64
"""Clients asked in one line at most (Prosody tracks 256 pending iqs per module)."""

# The server itself asks clients' full JIDs what they are (XEP-0030), all at once, through each
# VirtualHost's own mod_disco: its module API sends an iq and returns a promise; the shell waits
# for the promise of them all (util.promise.all), so a batch costs one DISCO_TIMEOUT at most.
# Each iq needs an id of its own: Prosody refuses a second pending iq with the same one.
_DISCO_LUA = (
    '>local st, promise, json = require "util.stanza", require "util.promise", require "util.json"; '
    "local asks = {{}}; for i, jid in ipairs({{ {jids} }}) do "
    "local host_name = jid:match('@([^/]+)'); local host = prosody.hosts[host_name]; "
    "local disco = host and host.modules.disco; "
    "asks[i] = disco and disco.module:send_iq(st.iq({{ type = 'get', to = jid, from = host_name, "
    "id = '{batch}-' .. i }}):query('http://jabber.org/protocol/disco#info'), nil, {timeout})"
    ":next(function (r) return tostring(r.stanza) end, function () return '' end) or ''; end; "
    "return promise.all(asks):next(function (r) return json.encode(r) end)"
)
_SAFE_JID = re.compile(r"[A-Za-z0-9._@/-]+")
_DISCO = "{http://jabber.org/protocol/disco#info}"


@dataclass(frozen=True)
class Identity:
    """What a client says it is: its first XEP-0030 identity and its features."""

    category: str
    type: str
    name: str
    features: frozenset[str]


@dataclass(frozen=True)
class Session:
    """One client session of the server: its full JID and presence (``show`` is ``online``, ``away``...)."""

    jid: str
    available: bool
    show: str
    status: str
    hibernating: bool

    @property
    def bare(self) -> str:
        return self.jid.split("/", 1)[0]


class AdminShell:
    """A connection to one Prosody's admin socket; :meth:`run` asks one line. Thread-safe."""

    def __init__(self, path: Path, timeout: float = TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._parser: ET.XMLPullParser | None = None
        self._root: ET.Element | None = None  # the stream's element: every answer is built into it
        self._lock = threading.Lock()
        self._batches = 0

    def run(self, line: str) -> str:
        """The shell's answer to ``line``: its output lines and result text. LabNotRunning if it cannot be asked."""
        with self._lock:
            try:
                return self._ask(line)
            except (OSError, ET.ParseError) as e:
                self._close()
                raise LabNotRunning(
                    f"Prosody's admin shell at {self.path} did not answer ({e}): is the lab running, "
                    "started by this version of xiotlab (its config enables admin_shell)?"
                ) from None

    def sessions(self) -> list[Session]:
        """Every client session, online or hibernating (XEP-0198), with its presence."""
        answer = self.run(SESSIONS_LUA)
        data = json.loads(answer.removeprefix("Result: ").strip() or "[]")
        if isinstance(data, dict):  # Lua's empty table encodes as {}
            data = list(data.values())
        return [Session(d["jid"], bool(d["available"]), d["show"], d["status"], bool(d["hibernating"])) for d in data]

    def identities(self, full_jids: list[str]) -> dict[str, Identity | None]:
        """What each client answers to the server's disco#info (None: no answer), asked all at once.

        Takes up to :data:`DISCO_TIMEOUT` per :data:`DISCO_BATCH` clients, however many stay silent.
        """
        found: dict[str, Identity | None] = {jid: None for jid in full_jids}
        safe = [jid for jid in full_jids if _SAFE_JID.fullmatch(jid)]  # only these are written into Lua
        for first in range(0, len(safe), DISCO_BATCH):
            batch = safe[first : first + DISCO_BATCH]
            self._batches += 1
            line = _DISCO_LUA.format(
                jids=", ".join(f"'{jid}'" for jid in batch),
                batch=f"xiotlab-panel-{self._batches}",
                timeout=DISCO_TIMEOUT,
            )
            answers = json.loads(self.run(line).removeprefix("Result: ").strip() or "[]")
            if isinstance(answers, dict):  # Lua's empty table encodes as {}
                answers = []
            found.update(zip(batch, map(_identity, answers), strict=False))
        return found

    def close(self) -> None:
        with self._lock:
            self._close()

    def _ask(self, line: str) -> str:
        if self._sock is None:
            self._connect()
        assert self._sock is not None and self._parser is not None
        self._sock.sendall(f"<repl-input>{escape(line)}</repl-input>".encode())
        lines: list[str] = []
        while True:
            for event in self._parser.read_events():
                kind, element = event[0], event[-1]  # ("start" | "end", element): the only events asked for
                assert isinstance(element, ET.Element)
                if self._root is None:  # the first event: the start of <stream:stream>
                    self._root = element
                if kind != "end":
                    continue
                text = element.text or ""
                if element.tag == f"{_NS}repl-output":
                    lines.append(text)
                elif element.tag == f"{_NS}repl-result":
                    del self._root[:]  # answered: the connection lives long, its answers must not pile up
                    if element.get("type") == "error":
                        raise AdminShellError(f"Prosody's admin shell at {self.path} refused a line: {text}")
                    return "\n".join([*lines, text])
            data = self._sock.recv(65536)
            if not data:
                raise OSError("the server closed the admin socket")
            self._parser.feed(data)

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
            sock.sendall(_OPEN.encode())
        except OSError:
            sock.close()
            raise
        self._sock, self._parser, self._root = sock, ET.XMLPullParser(events=("start", "end")), None

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._parser = self._root = None

    @property
    def kept_elements(self) -> int:
        """How many parsed elements the connection still holds (none between two answers)."""
        return 0 if self._root is None else len(self._root)


def _identity(stanza: object) -> Identity | None:
    """The first identity and the features of a disco#info result (the iq's XML text), or None."""
    if not isinstance(stanza, str) or not stanza.startswith("<iq"):
        return None
    try:
        query = ET.fromstring(stanza).find(f"{_DISCO}query")
    except ET.ParseError:
        return None
    if query is None:
        return None
    first = query.find(f"{_DISCO}identity")
    attributes = first.attrib if first is not None else {}
    features = frozenset(f.get("var", "") for f in query.iter(f"{_DISCO}feature"))
    return Identity(attributes.get("category", ""), attributes.get("type", ""), attributes.get("name", ""), features)
