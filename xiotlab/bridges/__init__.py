"""Bridges: other protocols' devices as the nodes of a concentrator.

:class:`MqttBridge` (``mqtt``) shows an MQTT broker's topic tree as nodes, values flowing
both ways; :mod:`.payloads` types MQTT payloads by inspection and :mod:`.topics` maps
topics to nodes, both pure. A layer above ``roles``: it may import the protocol, server,
runtime and roles layers, and nothing imports it but the faces a user calls it from.
"""

from .mqtt import MqttBridge

__all__ = ["MqttBridge"]
