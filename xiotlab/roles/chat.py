"""A thing's chat interface: any XMPP client can read it and set its controls in plain text.

A person's client (profanity, Conversations, Gajim...) knows nothing of the
sensor data and control protocols, but every client can chat. A message with
a body (``help``, ``read``, ``read temperature``, ``set on=true``) is
answered in the same kind of message, in its thread, with short lines from
:mod:`xiotlab.protocol.chat`.

The owner's rules are the same as for the protocols, asked of the same
access port: friends read, controllers set. Like the chat server of Waher's
IoTGateway, which answers "Access denied." where provisioning says no, a
stranger gets one polite line saying how to become a friend, and learns
nothing about the fields. A ``set`` goes through the control service's own
resolving, validation and handlers (:meth:`ControlService.set_text`), so a
value refused over the protocol is refused here, with the same reason.

The service asks two small ports, never the services' insides: the sensors
(:class:`Readable`) and the controls (:class:`Settable`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Protocol

from slixmpp import JID, Message

from ..errors import Forbidden, ParameterError
from ..protocol import chat
from ..protocol.parameters import ControlParameter
from ..protocol.sensordata import ReadoutRequest
from ..protocol.values import Category, Field, ReadoutError
from ..runtime import XmppClient, network
from .access import Access
from .service import Service

log = logging.getLogger("xiotlab")

# Messages a person types; errors, headlines and group chat are never commands.
_CHAT_KINDS = ("chat", "normal")


class Named(Protocol):
    @property
    def name(self) -> str: ...


class Readable(Protocol):
    """What the chat asks of a thing's sensors (a :class:`~.sensors.Sensors` is one)."""

    def __iter__(self) -> Iterator[Named]: ...

    async def read(self, request: ReadoutRequest) -> tuple[list[Field], list[ReadoutError]]: ...


class Settable(Protocol):
    """What the chat asks of a thing's controls (a :class:`~.controls.ControlService` is one)."""

    @property
    def parameters(self) -> Mapping[str, ControlParameter]: ...

    async def set_text(self, values: Mapping[str, str]) -> list[ControlParameter]: ...


class ChatService(Service[XmppClient]):
    """Answers chat messages from the thing's friends; one polite refusal line to anyone else."""

    def __init__(self, client: XmppClient, access: Access, sensors: Readable, controls: Settable) -> None:
        super().__init__(client)
        self.access = access
        self.sensors = sensors
        self.controls = controls

    def register(self) -> None:
        self.on_event("message", self._on_message)

    def _on_message(self, message: Message) -> None:
        sender = message["from"]
        if (
            message["type"] not in _CHAT_KINDS
            or not message["body"].strip()
            or not sender.user  # the server's announcements are not someone to answer
            or sender.bare == self.client.jid.bare
            or message.xml.find(chat.ANSWER) is not None  # another thing's answer: see protocol.chat
        ):
            return
        network.spawn(self._answer(message))

    async def _answer(self, message: Message) -> None:
        sender = message["from"]
        try:
            text = await self._respond(sender, message["body"])
        except Exception:  # a failing sensor or handler must not go unanswered, nor stop the service
            log.exception("answering a chat message from %s failed", sender)
            text = "the thing failed while answering; its log says why"
        if self.client.online:
            self.client.send_chat(sender.full, text, message["type"], message["thread"] or None, [chat.answer_marker()])

    async def _respond(self, sender: JID, body: str) -> str:
        """The answer to one message, as text."""
        try:
            self.access.check_reader(sender)
            command = chat.parse_command(body)
            if isinstance(command, chat.Help):
                return chat.format_help(self.client.jid.bare, self._fields(), self.controls.parameters.values())
            if isinstance(command, chat.Read):
                return await self._read(sender, command.fields)
            return await self._set(sender, dict(command.values))
        except (Forbidden, chat.ChatError) as refusal:
            return str(refusal)

    async def _read(self, sender: JID, names: tuple[str, ...]) -> str:
        known = self._fields()
        for name in names:
            if name not in known:
                return chat.unknown("field", name, known)
        names = await self.access.readable(sender, names, Category.ALL)
        if not known:
            return f"{self.client.jid.bare} has no sensors"
        fields, errors = await self.sensors.read(ReadoutRequest("chat", fields=names))
        return chat.format_readout(fields, errors, names or known)

    async def _set(self, sender: JID, values: dict[str, str]) -> str:
        self.access.check_controller(sender)
        known = list(self.controls.parameters)
        for name in values:
            if name not in known:
                return chat.unknown("control", name, known)
        refused = sorted(set(values) - set(await self.access.controllable(sender, tuple(values))))
        if refused:
            return f"{sender.bare} may not set {', '.join(refused)}"
        try:
            return chat.format_set(await self.controls.set_text(values))
        except ParameterError as refusal:
            return str(refusal)

    def _fields(self) -> list[str]:
        return [sensor.name for sensor in self.sensors]
