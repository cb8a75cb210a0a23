"""The owner's side of control: a thing's form, and setting its parameters, in the dialect it speaks.

Values are typed from the thing's control form (fetched once per thing, or
per concentrator node, and kept until it goes offline), so ``set(lamp,
brightness=40)`` sends a double if the lamp says brightness is a double. A legacy device without a form
(slixmpp's xep_0325 plugin answers no ``getForm``) gets each value typed
from its Python type instead: ``True`` a boolean, ``40`` an int, ``40.0`` a
double. Range, step and option checks are the thing's to make: its refusals
come back as :class:`~xiotlab.errors.ParameterError` naming the parameter.
"""

from __future__ import annotations

from typing import Any

from ..errors import ParameterError, ProtocolError, StanzaError
from ..protocol import control, control_form, legacy_control, parameters
from ..protocol.namespaces import LEGACY_CONTROL
from ..protocol.parameters import ControlForm, ParameterValue
from ..protocol.values import NodeRef
from ..runtime import XmppClient
from .peers import Peers
from .service import Service

PREFERENCE = (*control.NAMESPACES, LEGACY_CONTROL)

# A legacy device that answers a form request with one of these has no form (not a refusal).
_NO_FORM = ("feature-not-implemented", "service-unavailable")


class ControlClient(Service[XmppClient]):
    """Reads control forms and sets parameters for one owner."""

    def __init__(self, client: XmppClient, peers: Peers) -> None:
        super().__init__(client)
        self.peers = peers
        self._forms: dict[tuple[str, NodeRef | None], ControlForm] = {}  # by (full JID, node)
        self._formless: set[str] = set()  # legacy devices that answered getForm with "not implemented"

    def register(self) -> None:
        self.on_event("presence_unavailable", self._forget)

    def _forget(self, presence) -> None:
        full = presence["from"].full
        for key in [key for key in self._forms if key[0] == full]:
            del self._forms[key]
        self._formless.discard(presence["from"].full)

    async def form(self, jid: str, timeout: float, fresh: bool = True, node: NodeRef | None = None) -> ControlForm:
        """The control form of friend ``jid``, or of its node ``node`` (from the cache unless ``fresh``)."""
        full = await self.peers.address(jid, timeout)
        key = (full, node)
        if fresh or key not in self._forms:
            ns = await self.peers.dialect(full, PREFERENCE, timeout)
            nodes = () if node is None else (node,)
            if ns == LEGACY_CONTROL:
                request = legacy_control.build_get_form(nodes=nodes)
            else:
                request = control.build_get_form(nodes=nodes, namespace=ns)
            answer = await self.peers.request(full, "get", request, timeout)
            if answer is None:
                raise ProtocolError(f"{_whose(full, node)} answered the form request without a form.")
            self._forms[key] = control_form.parse_control_form(answer)
        return self._forms[key]

    async def set(
        self, jid: str, values: dict[str, Any], timeout: float, node: NodeRef | None = None
    ) -> control.SetResponse | None:
        """Set ``values`` on friend ``jid`` (on its node ``node``); the thing's refusal raises ParameterError."""
        if not values:
            raise ValueError("Nothing to set: pass parameters as keywords, e.g. set(lamp, on=True).")
        full = await self.peers.address(jid, timeout)
        ns = await self.peers.dialect(full, PREFERENCE, timeout)
        form = await self._form_for_set(jid, full, ns, timeout, node)
        if form is not None and any(form.get(name) is None for name in values):
            # The thing may have new parameters since we cached its form.
            form = await self.form(jid, timeout, node=node)
        whose = _whose(full, node)
        if form is None:
            typed = [_inferred(name, value) for name, value in values.items()]
        else:
            typed = [self._typed(form, whose, name, value) for name, value in values.items()]
        nodes = () if node is None else (node,)
        if ns == LEGACY_CONTROL:
            request = legacy_control.build_set(typed, nodes=nodes)
            await self.peers.request(full, "set", request, timeout, legacy_control.parse_error)
            return None
        payload = await self.peers.request(full, "set", control.build_set(typed, nodes=nodes, namespace=ns), timeout)
        return None if payload is None else control.parse_set_response(payload)

    async def _form_for_set(
        self, jid: str, full: str, ns: str, timeout: float, node: NodeRef | None
    ) -> ControlForm | None:
        """The form to type values with; None for a legacy device that has none."""
        if ns == LEGACY_CONTROL and full in self._formless:
            return None
        try:
            return await self.form(jid, timeout, fresh=False, node=node)
        except StanzaError as e:
            if ns != LEGACY_CONTROL or e.condition not in _NO_FORM:
                raise
        self._formless.add(full)
        return None

    @staticmethod
    def _typed(form: ControlForm, whose: str, name: str, value: Any) -> ParameterValue:
        parameter = form.get(name)
        if parameter is None:
            known = ", ".join(p.name for p in form.parameters) or "none"
            raise ParameterError(name, f"{whose} has no such control parameter", hint=f"it has: {known}")
        try:
            parameters.to_lexical(parameter.type, value)  # the value must at least be of the right kind
        except (TypeError, ValueError) as e:
            raise ParameterError(name, f"wrong type: {e}", hint=f"send a {parameter.type} value") from None
        return ParameterValue(name, parameter.type, value, parameter.enum_type)


def _whose(full: str, node: NodeRef | None) -> str:
    """The thing, or its node, as error messages name it."""
    return full if node is None else f"node {node.id!r} of {full}"


def _inferred(name: str, value: Any) -> ParameterValue:
    """``value`` as a legacy parameter of the type its Python type names (for devices without a form)."""
    kind = parameters.parameter_type_of(value)
    if kind is None:
        raise ParameterError(
            name,
            f"this device has no control form, and a {type(value).__name__} value names no legacy parameter type",
            hint="pass a bool, int, float, str, or a date, time, datetime or timedelta",
        )
    return ParameterValue(name, kind, value)
