"""The IoT Lab panel of JupyterLab: its server side, a Jupyter server extension.

The panel (TypeScript, ``extensions/labpanel`` in the repository, built into
:file:`labextension/` here and installed to ``share/jupyter/labextensions/xiotlab-labpanel``)
shows the lab server's state, every account with its role, online state and status text, the
friendships and ownership as a live network map, and the registry's entries; its actions put
``%xmpp`` lines into the notebook. What it shows comes from :mod:`.handlers`, which read the
persistent lab (``$XIOTLAB_HOME`` or ``~/.xiotlab``, as ``xiotlab server``) from the server's
own interfaces (:mod:`.snapshot`) and push changes as they happen (:mod:`.watcher`).

Jupyter loads it through ``jupyter_server_config.d/xiotlab.json`` (installed with the package),
as the extension app :class:`.app.LabPanelApp`, which Jupyter also stops at its shutdown.
"""

from __future__ import annotations

from typing import Any

LABEXTENSION = "xiotlab-labpanel"
"""The frontend's name: its directory under ``share/jupyter/labextensions``."""


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import LabPanelApp  # jupyter_server is needed only when Jupyter loads the panel

    return [{"module": "xiotlab.faces.labpanel", "app": LabPanelApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": LABEXTENSION}]
