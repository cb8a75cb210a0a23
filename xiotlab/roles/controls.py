"""A thing's controls: typed parameters, their handlers, and the answers to set and getForm.

Values are validated against the parameter (type, range, step, options)
before any handler runs; a refusal names the parameter, in the spec's
``paramError``. Handlers may be plain functions (run on a worker thread, so
a slow one holds up nothing) or coroutine functions (awaited on the network
loop). Only the owner, and friends it allowed, may set; friends may see the form.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import inspect
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from slixmpp import JID, Message

from ..errors import Forbidden, ParameterError, ProtocolError, StanzaError
from ..protocol import control, control_form, dataforms, legacy_control, parameters
from ..protocol.namespaces import LEGACY_CONTROL
from ..protocol.parameters import ControlParameter, ParameterType
from ..protocol.values import NodeRef
from ..runtime import ErrorReply, XmppClient, network
from .access import Access
from .service import Service

log = logging.getLogger("xiotlab")


def describe(name: str, kind: Any, options: Iterable | None, **details) -> ControlParameter:
    """A ControlParameter from friendly arguments: Python types and Enum classes are understood.

    An Enum class becomes an ENUM parameter whose options are the member names.
    """
    enum_type = ""
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        options = [m.name for m in kind] if options is None else options
        enum_type, kind = kind.__name__, ParameterType.ENUM
    elif kind in parameters.PYTHON_TYPES:
        kind = parameters.PYTHON_TYPES[kind]
    try:
        kind = ParameterType(kind)
    except ValueError:
        raise ValueError(
            f"control {name!r}: unknown type {kind!r}; use bool, int, float, str, an Enum class, a date/time "
            f"type, or one of {', '.join(t.value for t in ParameterType)}"
        ) from None
    if isinstance(details.get("value"), enum.Enum):
        details["value"] = details["value"].name
    try:
        parameter = ControlParameter(name, kind, enum_type=enum_type, options=tuple(options or ()), **details)
    except ProtocolError as e:
        raise ValueError(str(e)) from None
    if parameter.value is not None:  # a device must not start outside its own limits
        try:
            parameters.validate(dataclasses.replace(parameter, read_only=False), parameter.value)
        except ParameterError as e:
            raise ValueError(f"value={parameter.value!r}: {e}") from None
    return parameter


class Controls:
    """One device's control parameters (a thing's own, or a concentrator node's), handlers and enum types.

    Replaced whole rather than changed in place, so a request on the network loop sees the old
    set or the new one, never half of each.
    """

    def __init__(self) -> None:
        self.parameters: dict[str, ControlParameter] = {}
        self.handlers: dict[str, Callable[[Any], Any]] = {}
        self.enums: dict[str, type[enum.Enum]] = {}  # handlers of Enum-typed controls get members

    def declare(
        self,
        parameter: ControlParameter,
        handler: Callable[[Any], Any] | None,
        enum_class: type[enum.Enum] | None = None,
    ) -> None:
        self.parameters[parameter.name] = parameter
        if handler is not None:
            self.handlers[parameter.name] = handler
        if enum_class is not None:
            self.enums[parameter.name] = enum_class

    def clear(self) -> None:
        """Forget every parameter and handler (any thread: requests see the old or the new set)."""
        self.parameters, self.handlers, self.enums = {}, {}, {}

    def resolve(self, request: control.SetRequest) -> list[tuple[ControlParameter, Any]]:
        """The request's values, checked against these parameters (ParameterError names a refused one)."""
        return control.resolve_set(request, self.parameters.values())

    async def apply(self, resolved: list[tuple[ControlParameter, Any]], namespace: str) -> None:
        """Call the handlers in order with validated values and keep them as current values."""
        for parameter, value in resolved:
            handler = self.handlers.get(parameter.name)
            if handler is not None:
                enum_class = self.enums.get(parameter.name)
                try:
                    await _call(handler, enum_class[value] if enum_class else value)
                except ParameterError:
                    raise
                except ValueError as e:  # the handler's own refusal of a value
                    refusal = ParameterError(parameter.name, str(e))
                    refusal.details = control.error_details(refusal, namespace=namespace)
                    raise refusal from None
            self.parameters[parameter.name] = dataclasses.replace(parameter, value=value)


NodeControls = Callable[[NodeRef], "Controls | None"]
"""A concentrator's way to the controls of one of its nodes (None: no such node)."""


class ControlService(Service[XmppClient]):
    """Serves one thing's control parameters in every dialect, and its nodes' if it is a concentrator."""

    features = (*control.NAMESPACES, LEGACY_CONTROL)

    def __init__(self, client: XmppClient, access: Access, nodes: NodeControls | None = None) -> None:
        super().__init__(client)
        self.access = access
        self.own = Controls()
        self.nodes = nodes

    @property
    def parameters(self) -> dict[str, ControlParameter]:
        """The thing's own parameters by name."""
        return self.own.parameters

    def register(self) -> None:
        self.serve(control.NAMESPACES, "set", self._set, types=("set",))
        self.serve(control.NAMESPACES, "getForm", self._get_form, types=("get",))
        self.serve((LEGACY_CONTROL,), "set", self._legacy_set, types=("set",))
        self.serve((LEGACY_CONTROL,), "getForm", self._legacy_get_form, types=("get",))
        self.route(
            "message",
            f"{{{LEGACY_CONTROL}}}set",
            lambda message, element: network.spawn(self._legacy_message(message, element)),
        )

    def _targets(self, nodes: tuple[NodeRef, ...]) -> list[Controls]:
        """Whose controls a request addresses: the thing's own, or each node it names."""
        if not nodes:
            return [self.own]
        targets = []
        for ref in nodes:
            found = self.nodes(ref) if self.nodes is not None else None
            if found is None:
                raise StanzaError(
                    f"{self.client.jid.bare} has no node {ref.id!r}"
                    + (f" in source {ref.source!r}" if ref.source else "")
                    + "; ask it for its nodes first.",
                    condition="item-not-found",
                )
            targets.append(found)
        return targets

    async def _set_in(self, sender: JID, request: control.SetRequest, namespace: str) -> None:
        """Check every value on every node addressed first; only then run the handlers."""
        plan = [(target, target.resolve(request)) for target in self._targets(request.nodes)]
        for _, resolved in plan:
            await self._check_allowed(sender, resolved, request.nodes)
        for target, resolved in plan:
            await target.apply(resolved, namespace)

    async def set_text(self, values: Mapping[str, str]) -> list[ControlParameter]:
        """Set parameters from values as typed, the way a submitted control form does (network loop).

        The same resolving, checks and handlers as a set from the network, for the other
        ways in (the chat service); returns the parameters as they now are. Access is the
        caller's to check. Raises ParameterError naming the parameter, before any handler
        runs if a value is refused.
        """
        fields = tuple(dataforms.Field(var=name, values=(text,)) for name, text in values.items())
        request = control.SetRequest(form=dataforms.DataForm(type="submit", fields=fields))
        resolved = self.own.resolve(request)
        await self.own.apply(resolved, request.namespace)
        return [self.parameters[parameter.name] for parameter, _ in resolved]

    # --- the current dialect --------------------------------------------------

    async def _set(self, sender: JID, element: ET.Element):
        self.access.check_controller(sender)
        request = control.parse_set(element)
        await self._set_in(sender, request, request.namespace)
        return [control.build_set_response(namespace=request.namespace)]

    async def _get_form(self, sender: JID, element: ET.Element):
        self.access.check_reader(sender)
        request = control.parse_get_form(element)
        return [
            control_form.build_control_form(
                await self._visible(sender, request.nodes), title=self.client.jid.bare, namespace=request.namespace
            )
        ]

    async def _visible(self, sender: JID, nodes: tuple[NodeRef, ...] = ()) -> list[ControlParameter]:
        """The parameters ``sender`` may see in a form (a provisioning service may allow some only).

        For several nodes, the parameters they all have (a set through the form reaches each).
        """
        targets = self._targets(nodes)
        common = set(targets[0].parameters).intersection(*(t.parameters for t in targets[1:]))
        shown = {name: p for name, p in targets[0].parameters.items() if name in common}
        allowed = set(await self.access.controllable(sender, tuple(shown), viewing=True, nodes=nodes))
        return [p for name, p in shown.items() if name in allowed]

    async def _check_allowed(
        self, sender: JID, resolved: list[tuple[ControlParameter, Any]], nodes: tuple[NodeRef, ...] = ()
    ) -> None:
        """Refuse the whole set, before any handler runs, if it names a parameter ``sender`` may not set."""
        asked = tuple(parameter.name for parameter, _ in resolved)
        refused = sorted(set(asked) - set(await self.access.controllable(sender, asked, nodes=nodes)))
        if refused:
            raise Forbidden(f"{sender.bare} may not set {', '.join(refused)} on {self.client.jid.bare}.")

    # --- the legacy dialect (XEP-0325 as slixmpp's plugin speaks it) ------------

    async def _legacy_set(self, sender: JID, element: ET.Element):
        try:
            self._check_legacy(sender)
            await self._set_in(sender, legacy_control.parse_set(element), LEGACY_CONTROL)
        except Forbidden as refusal:
            raise ErrorReply(*legacy_control.build_set_error(_forbidden(refusal))) from None
        except StanzaError as error:
            # Its shape: a standard error beside the setResponse slixmpp's client reads.
            raise ErrorReply(*legacy_control.build_set_error(error)) from None
        return [legacy_control.build_set_response()]

    async def _legacy_get_form(self, sender: JID, element: ET.Element):
        self.access.check_reader(sender)
        request = legacy_control.parse_get_form(element)
        return [
            legacy_control.build_control_form(await self._visible(sender, request.nodes), title=self.client.jid.bare)
        ]

    async def _legacy_message(self, message: Message, element: ET.Element) -> None:
        """A set sent as a message: nobody waits for an answer, so refusals are only logged."""
        try:
            self._check_legacy(message["from"])
            await self._set_in(message["from"], legacy_control.parse_set(element), LEGACY_CONTROL)
        except (StanzaError, ProtocolError, Forbidden) as error:
            log.info("refused a control message from %s: %s", message["from"], error)

    def _check_legacy(self, sender: JID) -> None:
        try:
            self.access.check_controller(sender)
        except Forbidden as e:
            raise _forbidden(e) from None


def _forbidden(refusal: Forbidden) -> StanzaError:
    return StanzaError(str(refusal), condition="forbidden", kind="auth")


async def _call(handler: Callable[[Any], Any], value: Any) -> Any:
    if inspect.iscoroutinefunction(handler):
        return await handler(value)
    result = await asyncio.get_running_loop().run_in_executor(None, handler, value)
    return await result if inspect.isawaitable(result) else result
