"""The panel's REST and server-sent-events API, under ``<base_url>/xiotlab/``, served by Jupyter itself.

    GET  xiotlab/lab                     the lab's state (see :mod:`.snapshot`) as JSON
    GET  xiotlab/events                  the same, as server-sent events: now, then at each change
    POST xiotlab/server/start|stop|restart
                                         the persistent lab's life cycle (:mod:`.actions`); a failure
                                         answers 500 with the error's text in ``output``
    GET  xiotlab/log                     the lab server's log (text; ``?lines=N``, default 500)

Every handler is a Jupyter :class:`APIHandler` behind ``@tornado.web.authenticated`` (the
token or the login cookie and, for POST, the XSRF check, as every Jupyter API) and
jupyter_server's ``@authorized`` on the resource ``"xiotlab"`` (reading the lab is ``read``,
starting or stopping it ``execute``): under a multi-user authorizer only whom it allows may
act. The lab home must belong to the user running Jupyter: a shared server never hands one
user's lab to another.

Two web-app settings exist for tests and unusual set-ups (``--ServerApp.tornado_settings=...``):
``xiotlab_heartbeat`` (:data:`HEARTBEAT`) and ``xiotlab_action_timeout``
(:data:`~.actions.ACTION_TIMEOUT`), in seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from pathlib import Path

import tornado.iostream
import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from .actions import ACTION_TIMEOUT, ACTIONS, log_file, perform
from .watcher import LabWatcher

AUTH_RESOURCE = "xiotlab"
"""The resource name the panel's handlers ask Jupyter's authorizer about."""

HEARTBEAT = 15.0
"""Seconds between two comments on a quiet event stream: a closed browser tab is noticed."""


class _LabHandler(APIHandler):
    """The lab of this Jupyter server (``settings["xiotlab_watcher"]``), for its home's owner only."""

    auth_resource = AUTH_RESOURCE

    @property
    def watcher(self) -> LabWatcher:
        return self.settings["xiotlab_watcher"]

    def seconds(self, setting: str, default: float) -> float:
        return float(self.settings.get(setting, default))

    def check_home(self) -> None:
        """Refuse (403) when the lab home belongs to another user than the one running Jupyter."""
        home = self.watcher.home
        if home.exists() and home.stat().st_uid != os.geteuid():
            raise tornado.web.HTTPError(403, f"The lab home {home} belongs to another user.")


class StateHandler(_LabHandler):
    """The lab's state now, as JSON."""

    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.check_home()
        self.finish(json.dumps(await self.watcher.read()))


class EventsHandler(_LabHandler):
    """Server-sent events: ``data: <state JSON>`` now and at every change, a comment now and then."""

    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.check_home()
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        changes = self.watcher.changes(heartbeat=self.seconds("xiotlab_heartbeat", HEARTBEAT))
        try:
            async for text in changes:
                self.write(": still here\n\n" if text is None else f"data: {text}\n\n")
                await self.flush()
        except tornado.iostream.StreamClosedError:
            pass  # the tab was closed
        finally:
            await changes.aclose()


class ServerActionHandler(_LabHandler):
    """Start, stop or restart the persistent lab, as ``xiotlab server ...`` does."""

    @tornado.web.authenticated
    @authorized("execute")
    async def post(self, action: str) -> None:
        self.check_home()
        timeout = self.seconds("xiotlab_action_timeout", ACTION_TIMEOUT)
        outcome = await perform(self.watcher.acting, ACTIONS[action], self.watcher.home, timeout)
        if outcome.ok:
            await self.watcher.poke()
        else:
            self.set_status(500)
        self.finish(
            json.dumps({"ok": outcome.ok, "action": action, "output": outcome.output, "running": outcome.running})
        )


class LogHandler(_LabHandler):
    """The end of the lab server's log, as text (the panel links to it)."""

    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.check_home()
        try:
            lines = max(1, int(self.get_argument("lines", "500")))
        except ValueError:
            raise tornado.web.HTTPError(400, "`lines` is a number of lines, like ?lines=200") from None
        log = log_file(self.watcher.home)
        text = await asyncio.get_running_loop().run_in_executor(None, last_lines, log, lines)
        if text is None:
            text = f"(no log yet: {log} appears once the lab server has started)"
        self.finish(text + "\n", set_content_type="text/plain; charset=utf-8")  # APIHandler's default: JSON


def last_lines(path: Path, lines: int, block: int = 65536) -> str | None:
    """The last ``lines`` lines of a text file, reading only its end (a log grows without bound); None if missing."""
    try:
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            start, chunks = end, deque[bytes]()
            while start > 0 and b"".join(chunks).count(b"\n") <= lines:
                start = max(0, start - block)
                f.seek(start)
                chunks.appendleft(f.read(min(block, end - start)))
                end = start
    except FileNotFoundError:
        return None
    text = b"".join(chunks).decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def setup_handlers(web_app: tornado.web.Application, watcher: LabWatcher) -> None:
    base = url_path_join(web_app.settings["base_url"], "xiotlab")
    web_app.settings["xiotlab_watcher"] = watcher
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "lab"), StateHandler),
            (url_path_join(base, "events"), EventsHandler),
            (url_path_join(base, "server", "(start|stop|restart)"), ServerActionHandler),
            (url_path_join(base, "log"), LogHandler),
        ],
    )
