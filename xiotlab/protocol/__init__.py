"""Protocol layer: typed values and the stanzas of each IoT namespace, built and parsed.

Pure code: it builds and parses :mod:`xml.etree.ElementTree` elements and knows
nothing of sockets, threads or slixmpp. One namespace family, one module
(:mod:`.sensordata`, :mod:`.events`, :mod:`.control` with :mod:`.control_form`,
:mod:`.provisioning`, and the legacy dialects, which keep only what differs),
over three shared ones: :mod:`.values` (the one typed-value layer, with
:mod:`.parameters` mapping control parameters onto it), :mod:`.elements` (the
XML plumbing every dialect reads and writes through) and
:mod:`.stanza_errors` (XMPP errors, dialect-free).
"""
