"""The lab's own services: a thing registry and a provisioning service, XMPP components on its server.

``registry.<domain>`` (:mod:`.registry`) lists things and their claims;
``provisioning.<domain>`` (:mod:`.provisioning`) answers things' access
questions with their owners' rules. Both keep their state in one store
(:mod:`.store`) in the lab home; :mod:`.hosting` runs them beside a lab's
server, which starts them because this package tells it to.
"""

from ...server.lab import add_services
from .hosting import HOST, LabServices

add_services(HOST)

__all__ = ["LabServices"]
