"""A real IPython kernel for tests and benchmarks: run cells, record every IOPub message, act as a frontend.

:class:`Kernel` starts ``ipykernel`` on this very interpreter (the ``.venv`` one),
reads IOPub on a thread of its own, stamping each message with the time it
arrived, and sends comm messages on the shell channel exactly as a browser
does. The kernel joins a running lab through ``$XIOTLAB_HOME``: no password
ever crosses into a cell's source or an output.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager, start_new_kernel

KERNEL_NAME = "python3"
_SAME_INTERPRETER = {"python", f"python{sys.version_info[0]}", f"python{sys.version_info[0]}.{sys.version_info[1]}"}


@dataclass
class Received:
    """An IOPub message and ``time.monotonic()`` in this process when it was read."""

    at: float
    msg: dict

    @property
    def type(self) -> str:
        return self.msg["header"]["msg_type"]

    @property
    def content(self) -> dict:
        return self.msg["content"]

    @property
    def parent_id(self) -> str | None:
        return self.msg.get("parent_header", {}).get("msg_id")

    @property
    def comm_id(self) -> str | None:
        return self.content.get("comm_id")


@dataclass
class Execution:
    """What one cell did: its reply, its IOPub messages (busy to idle) and their text."""

    msg_id: str
    reply: dict
    messages: list[Received] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reply["content"]["status"] == "ok"

    @property
    def stdout(self) -> str:
        return "".join(m.content["text"] for m in self.messages if m.type == "stream" and m.content["name"] == "stdout")

    @property
    def error(self) -> str:
        """The traceback of a failed cell ("" when it did not fail), without colour codes."""
        for m in self.messages:
            if m.type == "error":
                return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(m.content["traceback"]))
        return ""

    def started(self) -> float:
        """When IOPub said the kernel became busy with this cell."""
        return next(m.at for m in self.messages if m.type == "status" and m.content["execution_state"] == "busy")

    def finished(self) -> float:
        """When IOPub said the kernel became idle after this cell."""
        return next(m.at for m in self.messages if m.type == "status" and m.content["execution_state"] == "idle")


def kernel_spec_dir() -> tuple[str, KernelSpecManager | None]:
    """The kernel to start: ``python3`` when it runs this interpreter, else a temporary spec that does.

    Returns ``(kernel_name, spec_manager)``; a spec manager means a temporary
    directory the caller removes (see :meth:`Kernel.shutdown`).
    """
    try:
        argv = KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv
    except Exception:
        argv = []
    if argv and (argv[0] in _SAME_INTERPRETER or argv[0] == sys.executable):
        return KERNEL_NAME, None  # jupyter_client runs "python" as sys.executable
    home = Path(tempfile.mkdtemp(prefix="xiotlab-kernelspec-"))
    (home / "xiotlab-test").mkdir()
    (home / "xiotlab-test" / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "xiotlab tests",
                "language": "python",
            }
        )
    )
    return "xiotlab-test", KernelSpecManager(kernel_dirs=[str(home)])


class Kernel:
    """A started kernel: ``run(code)`` a cell, ``comm_msg(...)`` as a frontend, ``received`` all IOPub.

    ``env``: variables added to the kernel's environment (``XIOTLAB_HOME`` to join a lab).
    Always :meth:`shutdown` it (or use it as a context manager).
    """

    def __init__(self, *, env: dict[str, str] | None = None, cwd: str | None = None, startup_timeout: float = 60):
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self.client = None
        kernel_env = {**os.environ, **(env or {})}
        kernel_env.pop("PYTEST_CURRENT_TEST", None)
        name, specs = kernel_spec_dir()
        self._spec_dir = specs.kernel_dirs[0] if specs is not None else None
        options = dict(env=kernel_env, cwd=cwd or os.getcwd())
        if specs is None:
            self.manager, self.client = start_new_kernel(startup_timeout, kernel_name=name, **options)
        else:
            self.manager = KernelManager(kernel_name=name, kernel_spec_manager=specs)
            self.manager.start_kernel(**options)
            self.client = self.manager.client()
            self.client.start_channels()
            try:
                self.client.wait_for_ready(timeout=startup_timeout)
            except RuntimeError:
                self.shutdown()
                raise
        self._reader = threading.Thread(target=self._read_iopub, name="iopub-reader", daemon=True)
        self._reader.start()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    # --- IOPub --------------------------------------------------------------------

    def _read_iopub(self) -> None:
        channel = self.client.iopub_channel
        while not self._stop.is_set():
            try:
                msg = channel.get_msg(timeout=0.05)
            except queue.Empty:
                continue
            except Exception:  # the channel closed under us at shutdown
                if self._stop.is_set():
                    return
                raise
            with self._lock:
                self.received.append(Received(time.monotonic(), msg))
                self._arrived.notify_all()

    def messages(self, where: Callable[[Received], bool] = lambda m: True, since: int = 0) -> list[Received]:
        """The IOPub messages received so far (from index ``since``) that satisfy ``where``."""
        with self._lock:
            return [m for m in self.received[since:] if where(m)]

    def mark(self) -> int:
        """An index into :attr:`received`: ``messages(since=mark)`` gives only what came after."""
        with self._lock:
            return len(self.received)

    def wait_for(self, where: Callable[[Received], bool], timeout: float, since: int = 0) -> Received:
        """The first IOPub message from index ``since`` that satisfies ``where``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for m in self.received[since:]:
                    if where(m):
                        return m
                since = len(self.received)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no such IOPub message within {timeout} s")
                self._arrived.wait(left)

    # --- shell ----------------------------------------------------------------------

    def submit(self, code: str) -> str:
        """Start running ``code``; returns the request's msg_id at once."""
        return self.client.execute(code, store_history=False, allow_stdin=False)

    def wait(self, msg_id: str, timeout: float = 60, since: int = 0) -> Execution:
        """Wait for the reply to ``msg_id`` and the idle status after it (IOPub read from index ``since``)."""
        deadline = time.monotonic() + timeout
        reply = None
        while reply is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no execute_reply within {timeout} s")
            try:
                msg = self.client.shell_channel.get_msg(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                reply = msg
        self.wait_for(
            lambda m: m.parent_id == msg_id and m.type == "status" and m.content["execution_state"] == "idle",
            max(1.0, deadline - time.monotonic()),
            since,
        )
        return Execution(msg_id, reply, self.messages(lambda m: m.parent_id == msg_id, since))

    def run(self, code: str, timeout: float = 60, check: bool = True) -> Execution:
        """Run one cell and wait until the kernel is idle again; a failing cell raises with its traceback."""
        since = self.mark()
        execution = self.wait(self.submit(code), timeout, since)
        if check and not execution.ok:
            raise AssertionError(f"cell failed:\n{code}\n{execution.error}")
        return execution

    def comm_msg(self, comm_id: str, data: dict) -> None:
        """Send a comm message on the shell channel, as a frontend does when a widget changes."""
        self.client.shell_channel.send(self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))

    def set_widget(self, model_id: str, **state) -> None:
        """What a browser sends when a person changes a widget: an ``update`` of its state."""
        self.comm_msg(model_id, {"method": "update", "state": state, "buffer_paths": []})

    # --- the end ----------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the kernel (at once) and the channels; safe to call twice."""
        self._stop.set()
        if self._reader is not None and self._reader.is_alive():
            self._reader.join(5)
        if self.client is not None:
            self.client.stop_channels()
        if self.manager.has_kernel:
            self.manager.shutdown_kernel(now=True)
        if self._spec_dir is not None:
            shutil.rmtree(self._spec_dir, ignore_errors=True)


def comm_updates(messages: Iterable[Received], comm_id: str, key: str | None = None) -> list[Received]:
    """The ``comm_msg`` updates of widget ``comm_id`` among ``messages`` (only those setting ``key``, if given)."""
    return [
        m
        for m in messages
        if m.type == "comm_msg"
        and m.comm_id == comm_id
        and m.content["data"].get("method") in ("update", "echo_update")
        and (key is None or key in m.content["data"].get("state", {}))
    ]


def carries_values(message: Received) -> bool:
    """A live plot chart's custom message that carries values (times and values as float64 buffers)."""
    data = message.content.get("data", {})
    content = data.get("content") if data.get("method") == "custom" else None
    return bool(isinstance(content, dict) and content.get("kind") in ("window", "delta") and message.msg["buffers"])


def chart_updates(messages: Iterable[Received], comm_id: str) -> list[Received]:
    """The messages of chart ``comm_id`` among ``messages`` that carry values: one per redraw."""
    return [m for m in messages if m.type == "comm_msg" and m.comm_id == comm_id and carries_values(m)]


def points_in(message: Received) -> int:
    """How many values of the first line a chart message carries."""
    return len(message.msg["buffers"][1]) // 8 if len(message.msg["buffers"]) > 1 else 0


def times_in(message: Received) -> list[float]:
    """The times (POSIX seconds) of the first line's values a chart message carries."""
    buffers = message.msg["buffers"]
    return [float(t) for t in np.frombuffer(bytes(buffers[0]), dtype="<f8")] if buffers else []
