"""``python -m xiotlab.roles.lab --home HOME``: serve a detached lab's services until told to stop.

Started by :class:`~xiotlab.server.LabServer` for a detached lab, stopped by
``xiotlab server stop`` (SIGTERM). It also ends when the lab's server is gone.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from ...server import LabServer
from ...server.lab import SERVICES_READY
from .hosting import LabServices


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xiotlab.roles.lab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", required=True, help="the lab home")
    args = parser.parse_args(argv)
    lab = LabServer.running(args.home)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    services = LabServices(lab).start()
    assert lab.home is not None
    (lab.home / SERVICES_READY).write_text(str(os.getpid()))
    try:
        while not stopping.wait(1.0):
            if not lab.is_running:
                break  # the server was stopped without us: nothing left to serve
    finally:
        services.stop()
        (lab.home / SERVICES_READY).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
