"""Protocol layer: typed values and the stanzas of each IoT namespace, built and parsed.

Pure code: it builds and parses :mod:`xml.etree.ElementTree` elements and knows
nothing of sockets, threads or slixmpp. One namespace family, one module.
"""
