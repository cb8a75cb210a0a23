"""The XML namespaces xiotlab speaks, grouped by protocol and dialect.

The current dialect is the neuro-foundation.io set (``urn:nfi:iot:*``). Older
deployments of the same protocols use ``urn:nf:iot:*`` and ``urn:ieee:iot:*``
with the same elements; a thing answers in whichever of them it was asked.
The retracted XEPs (0323/0325, as slixmpp's plugins speak them) form the
legacy dialect, whose elements differ.
"""

SENSOR_DATA = "urn:nfi:iot:sd:1.0"
EVENTS = "urn:nfi:iot:events:1.0"
CONTROL = "urn:nfi:iot:ctr:1.0"
PROVISIONING_OWNER = "urn:nfi:iot:prov:o:1.0"
PROVISIONING_DEVICE = "urn:nfi:iot:prov:d:1.0"  # decision support: a device asks its provisioning service
DISCOVERY = "urn:nfi:iot:disco:1.0"  # thing registries
CONCENTRATOR = "urn:nfi:iot:concentrator:1.0"  # many nodes behind one JID

# Same elements as the current dialect, older namespace names.
SENSOR_DATA_ALIASES = ("urn:nf:iot:sd:1.0", "urn:ieee:iot:sd:1.0")
EVENTS_ALIASES = ("urn:nf:iot:events:1.0", "urn:ieee:iot:events:1.0")
CONTROL_ALIASES = ("urn:nf:iot:ctr:1.0", "urn:ieee:iot:ctr:1.0")
# IoTGateway (2026) speaks these names of the registry and provisioning protocols.
PROVISIONING_OWNER_ALIASES = ("urn:nf:iot:prov:o:1.0", "urn:ieee:iot:prov:o:1.0")
PROVISIONING_DEVICE_ALIASES = ("urn:nf:iot:prov:d:1.0", "urn:ieee:iot:prov:d:1.0")
DISCOVERY_ALIASES = ("urn:nf:iot:disco:1.0", "urn:ieee:iot:disco:1.0")
CONCENTRATOR_ALIASES = ("urn:nf:iot:concentrator:1.0", "urn:ieee:iot:concentrator:1.0")

# Legacy dialect: the retracted XEPs.
LEGACY_SENSOR_DATA = "urn:xmpp:iot:sensordata"
LEGACY_CONTROL = "urn:xmpp:iot:control"

DATA_FORMS = "jabber:x:data"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
STANZA_ERRORS = "urn:ietf:params:xml:ns:xmpp-stanzas"

# Data form extensions the control form uses.
XDATA_VALIDATE = "http://jabber.org/protocol/xdata-validate"  # XEP-0122
XDATA_LAYOUT = "http://jabber.org/protocol/xdata-layout"  # XEP-0141
XDATA_DYNAMIC = "urn:xmpp:xdata:dynamic"  # XEP-0336
# xiotlab's own extension of control forms, for what XEP-0122 cannot say
# (a step between values, the type name of an enumeration). Other clients
# ignore it; xiotlab owners read it to recover a parameter exactly.
XIOTLAB_CONTROL_FORM = "urn:xiotlab:ctr:form:1"
# xiotlab's extension of sensor data fields (their <x> child): many values of one field in one
# element, for fast streams between peers that announce it (see protocol/series.py).
XIOTLAB_SERIES = "urn:xiotlab:iot:series:1"

# The stanza namespace of a client stream, where <error/> lives.
CLIENT = "jabber:client"
COMPONENT = "jabber:component:accept"  # XEP-0114: the same stanzas on a component's stream

# Plain XMPP a participant speaks besides the stanzas slixmpp handles.
DISCO_INFO = "http://jabber.org/protocol/disco#info"  # XEP-0030
DISCO_ITEMS = "http://jabber.org/protocol/disco#items"  # XEP-0030: a domain lists its components
ROSTER = "jabber:iq:roster"  # RFC 6121
HINTS = "urn:xmpp:hints"  # XEP-0334
