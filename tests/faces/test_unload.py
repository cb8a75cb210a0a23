"""``%unload_ext xiotlab`` ends the threads ``%load_ext`` and the magics started, in a real IPython shell."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest
from IPython.core.interactiveshell import InteractiveShell

from xiotlab import Owner
from xiotlab.faces.widgets.live import Redraws, stop_ui_thread
from xiotlab.runtime.loop import THREAD_NAME

from ..waiting import eventually

LAMP = """\
@thing.control("on", type=bool, value=False)
def switch(on):  # a plain function: it runs on a worker thread of the network loop
    thing.report(power=9.0 if on else 0.0)
thing.sensor("power", unit="W")
"""


def threads() -> dict[int | None, str]:
    return {t.ident: t.name for t in threading.enumerate()}


def use_everything(shell, name) -> None:
    """What starts threads: a lab, participants, a control's handler, a live plot."""
    xmpp = lambda line: shell.run_line_magic("xmpp", line)  # noqa: E731
    xmpp("lab start")
    xmpp(f"connect {name('alice')} --as owner")
    lamp = name("lamp")
    shell.run_cell_magic("thing", lamp, LAMP)
    xmpp(f"befriend {lamp}")
    xmpp(f"set {lamp} on=true")
    xmpp(f"plot {lamp} power --window 60s")


def test_unload_leaves_no_thread_that_load_or_the_magics_started(lab, tmp_path, name):
    shell = InteractiveShell.instance()  # its history thread is IPython's, not ours
    before = threads()
    shell.run_line_magic("load_ext", "xiotlab")
    try:
        shell.run_line_magic("config", f"XmppMagics.home = {str(tmp_path)!r}")  # a private lab of its own
        use_everything(shell, name)
        during = set(threads().values())
        assert {"xiotlab-ui", THREAD_NAME} <= during and any(n.startswith("xiotlab-worker") for n in during)
    finally:
        shell.run_line_magic("unload_ext", "xiotlab")
    # Workers told to end leave on their own: wait for them, not for a time.
    assert eventually(lambda: set(threads().items()) <= set(before.items())), set(threads().items()) - set(
        before.items()
    )


def test_unload_keeps_the_network_thread_for_participants_made_in_python(lab, online, name):
    alice = online(Owner, name("alice"))  # made in Python, not by the magics
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "xiotlab")
    shell.run_line_magic("xmpp", "lab start")
    shell.run_line_magic("xmpp", f"connect {name('bob')} --as owner")
    shell.run_line_magic("unload_ext", "xiotlab")
    assert alice.online and THREAD_NAME in threads().values()
    alice.set_status("still here")  # the network thread still serves her


def test_a_widget_redrawn_after_the_ui_thread_ended_starts_it_again():
    drawn = []
    redraws = Redraws(lambda: drawn.append(threading.current_thread().name))
    redraws.request()
    assert eventually(lambda: len(drawn) == 1)
    stop_ui_thread()
    assert "xiotlab-ui" not in threads().values()
    redraws.request()
    assert eventually(lambda: len(drawn) == 2) and drawn == ["xiotlab-ui", "xiotlab-ui"]
    stop_ui_thread()


@pytest.mark.integration  # the child process starts a private lab
def test_in_a_fresh_process_unload_leaves_exactly_the_threads_of_before(tmp_path):
    script = textwrap.dedent(
        f"""
        import threading, uuid
        from IPython.core.interactiveshell import InteractiveShell
        from tests.faces.test_unload import use_everything
        from tests.waiting import eventually

        names = lambda: {{(t.ident, t.name) for t in threading.enumerate()}}
        shell = InteractiveShell.instance()
        before = names()
        shell.run_line_magic("load_ext", "xiotlab")
        shell.run_line_magic("config", "XmppMagics.home = {str(tmp_path)!r}")
        use_everything(shell, lambda prefix: prefix + "-" + uuid.uuid4().hex[:6])
        shell.run_line_magic("unload_ext", "xiotlab")
        # the network thread, its workers, the UI thread, and the spawner: all gone
        assert eventually(lambda: names() == before, seconds=20), sorted(names() - before)  # a loaded machine is slow
        print("same threads")
        """
    )
    root = __file__.rsplit("/tests/", 1)[0]
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "same threads" in result.stdout, result.stdout + result.stderr
