"""Waiting for what the network delivers asynchronously, without timed assertions."""

from __future__ import annotations

import threading
import time


def eventually(check, seconds=5.0):
    """Wait until ``check()`` is true; the network delivers asynchronously."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def in_background(fn, *args, **kwargs):
    """Run a blocking call on another thread; ``.result()`` gives its value or raises its error."""
    box = {}

    def run():
        try:
            box["value"] = fn(*args, **kwargs)
        except Exception as e:
            box["error"] = e

    thread = threading.Thread(target=run)
    thread.start()

    class Pending:
        @staticmethod
        def result(timeout=15):
            thread.join(timeout)
            if "error" in box:
                raise box["error"]
            return box["value"]

    return Pending
