"""Faces layer: how people use xiotlab.

- :mod:`.cli`: the ``xiotlab`` command, which runs the persistent lab server and manages its accounts;
- :mod:`.magics`: the ``%xmpp`` and ``%%thing`` notebook magics (``%load_ext xiotlab``), over
- :mod:`.session`: what one kernel's magics act on, usable from plain Python too;
- :mod:`.widgets`: the roster, live plot, control panel and protocol inspector widgets.

Faces use the roles and the server, never slixmpp directly.
"""
