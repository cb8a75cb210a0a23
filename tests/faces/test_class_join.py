"""A student joins a class server from a notebook: `%xmpp join FILE`, the password never shown."""

from __future__ import annotations

import logging

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from xiotlab import LabServer, Owner, Thing
from xiotlab.server import classroom, prosody

from .kernel_helpers import Kernel

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def class_lab(tmp_path_factory):
    """The teacher's class server, on a loopback address of its own."""
    home = tmp_path_factory.mktemp("class") / "home"
    with LabServer(home, domain="class.lab.test", host="127.0.0.8", port=None, services=False) as lab:
        yield lab


@pytest.fixture
def student(tmp_path, monkeypatch):
    """A student's IPython shell, on a machine with no lab of its own."""
    monkeypatch.setenv("XIOTLAB_HOME", str(tmp_path / "student-home"))
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "xiotlab")
    magics = shell.magics_manager.registry["XmppMagics"]
    magics.home = str(tmp_path / "student-home")
    yield shell
    magics.session.disconnect_all()
    shell.run_line_magic("unload_ext", "xiotlab")


def test_one_line_joins_as_the_student_and_shows_no_password(class_lab, student, capsys, caplog):
    path = classroom.add_students(class_lab, 1, prefix="magic")[0]
    password = classroom.read_handout(path).password
    caplog.set_level(logging.DEBUG)
    me = student.run_line_magic("xmpp", f"join {path}")
    assert isinstance(me, Owner) and me.online and me.jid == "magic01@class.lab.test"

    lamp = Thing("lamp-of-magic", lab=class_lab, owner=me.jid, timeout=5).start()
    try:
        student.run_line_magic("xmpp", f"befriend {lamp.jid}")
        assert me.roster[lamp.jid].friend
    finally:
        lamp.stop()
    out = capsys.readouterr()
    shown = out.out + out.err + caplog.text + repr(me) + "".join(e.xml for e in me.trace)
    assert password not in shown


def test_a_wrong_file_is_one_line_without_the_password(class_lab, student, tmp_path):
    path = classroom.add_students(class_lab, 1, prefix="typo")[0]
    handout = classroom.read_handout(path)
    broken = tmp_path / "broken.json"
    broken.write_text(
        path.read_text().replace(f'"port": {handout.port}', f'"port": {prosody.free_port(handout.address)}')
    )
    with pytest.raises(UsageError, match=r"Cannot connect to 127\.0\.0\.8") as failed:
        student.run_line_magic("xmpp", f"join {broken}")  # a port nobody listens on
    assert handout.password not in str(failed.value) and "\n" not in str(failed.value)
    broken.write_text(path.read_text().replace(f'"port": {handout.port}', '"port": 123456'))
    with pytest.raises(UsageError, match="no server has"):
        student.run_line_magic("xmpp", f"join {broken}")
    with pytest.raises(UsageError, match="is not a hand-out"):
        student.run_line_magic("xmpp", f"join {class_lab.ca_file}")


def test_a_student_kernel_joins_from_the_hand_out(class_lab, tmp_path):
    path = classroom.add_students(class_lab, 1, prefix="kernel")[0]
    password = classroom.read_handout(path).password
    with Kernel(env={"XIOTLAB_HOME": str(tmp_path / "student-home")}) as kernel:
        kernel.run("%load_ext xiotlab")
        joined = kernel.run(f"me = %xmpp join {path}\nprint(me.jid, me.online)\nme")
        assert "kernel01@class.lab.test True" in joined.stdout
        shown = "".join(str(m.content) for m in kernel.messages())
        assert password not in shown
        kernel.run("%unload_ext xiotlab", timeout=20, check=False)
