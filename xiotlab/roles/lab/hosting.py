"""Running the lab's services: each a component on the lab's server, all sharing one store.

A lab that lives and dies with a Python process runs them on that process's
network thread (:class:`LabServices`); a detached lab (``xiotlab server
start``) runs them in a background process of their own
(``python -m xiotlab.roles.lab --home HOME``, see :mod:`.__main__`), so they
outlive the command that started them. Either way the state is the SQLite
store in the lab home: claims, tags and rules survive a restart.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from ...runtime import network
from ...runtime.component import ComponentClient
from ...server import LabServer
from ...server.lab import ServiceHost
from ..service import Service
from .provisioning_component import ProvisioningComponent
from .registry_component import RegistryComponent
from .store import Store

# Each service: its name among the lab's services, its XEP-0030 identity, and what serves it.
SERVICES: dict[str, tuple[tuple[str, str, str], Callable[[ComponentClient, Store], Service]]] = {
    "registry": (("directory", "things", "xiotlab thing registry"), RegistryComponent),
    "provisioning": (("component", "generic", "xiotlab provisioning"), ProvisioningComponent),
}


class LabServices:
    """The lab's registry and provisioning services, connected to ``lab`` from this process."""

    def __init__(self, lab: LabServer) -> None:
        self.lab = lab
        self.store = Store(lab.services_store)
        self.clients: dict[str, ComponentClient] = {}
        self.services: list[Service] = []
        for name, (identity, make) in SERVICES.items():
            access = lab.component(name)
            client = ComponentClient(
                access.jid, access.secret, access.host, access.port, fallbacks=access.fallbacks, identity=identity
            )
            self.clients[name] = client
            self.services.append(make(client, self.store))

    def start(self) -> LabServices:
        """Connect every service and start answering; returns once all are accepted by the server."""
        network.run(self._start())
        return self

    async def _start(self) -> None:
        for service in self.services:
            service.attach()
        for client in self.clients.values():
            await client.connect()

    def stop(self) -> None:
        """Disconnect every service and close the store. Safe to call twice."""
        if network.loop.is_running():
            network.run(self._stop())
        self.store.close()

    async def _stop(self) -> None:
        for service in self.services:
            service.detach()
        for client in self.clients.values():
            await client.disconnect(timeout=2.0)

    def __repr__(self) -> str:
        states = ", ".join(f"{c.jid} {c.connection.state.value}" for c in self.clients.values())
        return f"<LabServices {states}>"


def command(lab: LabServer) -> Sequence[str]:
    """The background process that serves a detached lab's services."""
    assert lab.home is not None  # a detached lab always has a home
    return [sys.executable, "-m", "xiotlab.roles.lab", "--home", str(lab.home)]


HOST = ServiceHost(start=lambda lab: LabServices(lab).start(), command=command)
