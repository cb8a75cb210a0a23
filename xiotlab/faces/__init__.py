"""Faces layer: how people use xiotlab (the ``xiotlab`` command; magics and widgets later).

Faces use the roles and the server, never slixmpp directly.
"""
