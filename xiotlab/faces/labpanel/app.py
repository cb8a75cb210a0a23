"""The panel's server side as a Jupyter :class:`ExtensionApp`: loaded with the server, stopped with it.

An extension app (rather than a bare ``_load_jupyter_server_extension``) because Jupyter calls
its :meth:`stop_extension` at shutdown: the watcher's poll and its admin-socket connections
end with the server instead of being left to the process's exit.
"""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp

from ...server import default_home
from .handlers import setup_handlers
from .watcher import LabWatcher


class LabPanelApp(ExtensionApp):
    """Serves the panel's API under ``/xiotlab/`` for the persistent lab (``$XIOTLAB_HOME`` or ``~/.xiotlab``)."""

    name = "xiotlab_labpanel"
    load_other_extensions = True
    watcher: LabWatcher | None = None

    def initialize_handlers(self) -> None:
        from ...roles import lab as _services  # noqa: F401  (a lab started from the panel runs its services)

        assert self.serverapp is not None
        self.watcher = LabWatcher(default_home().expanduser().resolve(), logger=self.log)
        setup_handlers(self.serverapp.web_app, self.watcher)
        self.log.info(f"xiotlab lab panel: serving the lab at {self.watcher.home} under /xiotlab/")

    async def stop_extension(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
            self.log.info("xiotlab lab panel: stopped watching the lab")
            self.watcher = None
