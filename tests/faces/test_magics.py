"""The %xmpp and %%thing magics in a real IPython shell, against the real lab server."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from xiotlab import ControlPanel, Inspector, LivePlot, Owner, Roster, Thing
from xiotlab.faces import magics
from xiotlab.faces.magics import XmppMagics
from xiotlab.roles.readout import Readout

from ..waiting import eventually, in_background


@pytest.fixture
def ip(lab):
    """An IPython shell with the extension loaded and its session on the test lab."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "xiotlab")
    magics = shell.magics_manager.registry["XmppMagics"]
    magics.session.lab = lab
    yield shell
    magics.session.disconnect_all()
    shell.run_line_magic("unload_ext", "xiotlab")


def xmpp(ip, line):
    return ip.run_line_magic("xmpp", line)


def session(ip):
    return ip.magics_manager.registry["XmppMagics"].session


LAMP = """
@thing.sensor("brightness", unit="%")
def brightness():
    return thing.controls["brightness"]

@thing.control("brightness", type=int, min=0, max=100, value=10)
def dim(level):
    seen.append(level)

@thing.control("on", type=bool, value=False)
def switch(on):
    seen.append(on)
"""


@pytest.fixture
def offline(tmp_path):
    """The magics with no lab (none runs in their home) and nobody online: what needs no server."""
    return XmppMagics(InteractiveShell.instance(), home=str(tmp_path))


COMMANDS = (
    "lab",
    "connect",
    "join",
    "disconnect",
    "roster",
    "befriend",
    "requests",
    "approve",
    "reject",
    "read",
    "subscribe",
    "plot",
    "set",
    "panel",
    "nodes",
    "claim",
    "search",
    "devices",
    "disown",
    "remove",
    "delete-rules",
    "clear-cache",
    "qr",
    "log",
    "help",
)


def test_help_lists_every_command_with_its_usage_and_summary(offline, capsys):
    offline.xmpp("help")
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"%xmpp {command}" in out
    assert "%xmpp read [--node NODE] [--category CATEGORY] JID[/NODE] [FIELD ...]\n    read a thing's" in out
    assert "%%thing [--owner JID] [--policy {deny,accept}] [--tags MAN=Acme,#V=1.0] NAME" in out


def test_help_on_a_command_explains_its_options(offline, capsys):
    offline.xmpp("help approve")
    out = capsys.readouterr().out
    assert "--range {Caller,Domain,All}" in out and "(default: Caller)" in out
    with pytest.raises(UsageError, match="invalid choice: 'frobnicate'"):
        offline.xmpp("help frobnicate")


def test_a_command_added_to_the_parser_shows_in_help_and_completes(tmp_path, monkeypatch, capsys):
    add_owner_commands = magics._add_owner_commands

    def with_dance(parser):
        add_owner_commands(parser)
        dance = parser.add_command("dance", "make a thing dance")
        dance.add_argument("jid", metavar="JID")
        dance.add_argument("--style", choices=("waltz", "tango"), help="how it dances")

    monkeypatch.setattr(magics, "_add_owner_commands", with_dance)
    dancing = XmppMagics(InteractiveShell.instance(), home=str(tmp_path))
    dancing.xmpp("help")
    assert "%xmpp dance [--style {waltz,tango}] JID\n    make a thing dance" in capsys.readouterr().out
    dancing.xmpp("help dance")
    assert "how it dances" in capsys.readouterr().out
    assert dancing.complete("da", "%xmpp da") == ["dance"]
    assert dancing.complete("--", "%xmpp dance lamp --") == ["--style"]
    assert dancing.complete("t", "%xmpp dance lamp --style t") == ["tango"]


def test_completion_follows_the_parser_options_choices_and_positions(offline, monkeypatch):
    monkeypatch.setattr(offline, "_known_jids", lambda: ["alice@lab.test", "lamp@lab.test"])
    assert set(offline.complete("", "%xmpp ")) == set(COMMANDS)
    assert set(offline.complete("re", "%xmpp re")) == {"read", "reject", "requests", "remove"}
    assert set(offline.complete("st", "%xmpp lab st")) == {"start", "stop", "status"}
    assert offline.complete("--p", "%xmpp lab start --p") == ["--private"]
    assert offline.complete("th", "%xmpp connect x --as th") == ["thing"]
    assert offline.complete("D", "%xmpp approve bob --range D") == ["Domain"]
    assert offline.complete("la", "%xmpp read la") == ["lamp@lab.test"]
    assert offline.complete("al", "%xmpp befriend --timeout 5 al") == ["alice@lab.test"]
    assert offline.complete("a", "%xmpp log --peer a") == ["alice@lab.test"]
    assert offline.complete("", "%xmpp read lamp ") == []  # field names, not JIDs
    assert offline.complete("", "%xmpp log --limit ") == []
    assert offline.complete("pa", "%xmpp help pa") == ["panel"]


def test_mistakes_are_one_line_usage_errors(offline):
    with pytest.raises(UsageError, match="invalid choice: 'frobnicate'") as error:
        offline.xmpp("frobnicate")
    assert "\n" not in str(error.value)
    with pytest.raises(UsageError, match="Nobody is online"):
        offline.xmpp("roster")
    for line in ("connect alice --as owner --password secret", "connect alice --password=secret"):
        with pytest.raises(UsageError, match="Passwords never go on a magic line") as error:
            offline.xmpp(line)
        assert "secret" not in str(error.value)


def test_an_owner_and_a_cell_thing_read_and_set_each_other(ip, name):
    alice, lamp = name("alice"), name("lamp")
    ip.user_ns["seen"] = []
    owner = xmpp(ip, f"connect {alice} --as owner")
    assert isinstance(owner, Owner) and owner.online and owner.jid == f"{alice}@{session(ip).lab.domain}"
    thing = ip.run_cell_magic("thing", lamp, LAMP)
    assert isinstance(thing, Thing) and thing.online and thing.owner == owner.jid
    assert ip.user_ns["thing"] is thing
    assert xmpp(ip, f"befriend {lamp}").friend

    xmpp(ip, f"set {lamp} on=on brightness=40")
    assert sorted(ip.user_ns["seen"], key=str) == [40, True]
    readout = xmpp(ip, f"read {lamp} brightness")
    assert isinstance(readout, Readout) and readout["brightness"].value == 40
    ip.run_cell(f"%xmpp read {lamp}", store_history=True)
    assert isinstance(ip.user_ns["_"], Readout)

    with pytest.raises(UsageError, match="brightness=bright: not a int value"):
        xmpp(ip, f"set {lamp} brightness=bright")
    with pytest.raises(UsageError, match="no control parameter 'colour'; it has: "):
        xmpp(ip, f"set {lamp} colour=red")
    with pytest.raises(UsageError, match=r"ParameterError.*brightness"):
        xmpp(ip, f"set {lamp} brightness=400")


def test_running_a_thing_cell_again_replaces_its_behaviour_on_the_same_connection(ip, name):
    alice, meter = name("alice"), name("meter")
    xmpp(ip, f"connect {alice} --as owner")
    first = ip.run_cell_magic("thing", meter, "thing.sensor('power', unit='W')(lambda: 100)")
    xmpp(ip, f"befriend {meter}")
    connection = first._client.stream
    second = ip.run_cell_magic("thing", meter, "thing.sensor('energy', unit='kWh')(lambda: 2.5)")
    assert second is first and second._client.stream is connection
    assert xmpp(ip, f"read {meter}").names == ["energy"]


def test_a_failing_thing_cell_shows_its_error_and_does_not_come_online(ip, name, capsys):
    thing = ip.run_cell_magic("thing", name("broken"), "thing.sensor('x')(lambda: 1)\n1/0")
    assert thing is None
    assert "now has only what the cell declared before the error" in capsys.readouterr().out


def test_widgets_come_from_the_magics_and_a_plot_is_reused(ip, name):
    alice, thermo = name("alice"), name("thermo")
    xmpp(ip, f"connect {alice} --as owner")
    ip.run_cell_magic(
        "thing",
        thermo,
        "thing.sensor('t', unit='°C')(lambda: 20.0)\n"
        "thing.control('on', type=bool, value=True)(lambda v: None)\n"
        "import itertools; ticks = itertools.count()\n"
        "thing.every(0.02)(lambda: {'t': 20.0 + next(ticks) % 5})",
    )
    xmpp(ip, f"befriend {thermo}")
    plot = xmpp(ip, f"plot {thermo} t --window 30s")
    assert isinstance(plot, LivePlot) and plot.seconds == 30
    assert xmpp(ip, f"plot {thermo} t") is plot
    assert eventually(lambda: len(plot.series.get("t", ())) > 0 and plot.chart.messages > 0)
    assert isinstance(xmpp(ip, f"panel {thermo}"), ControlPanel)
    assert isinstance(xmpp(ip, "roster"), Roster)
    assert isinstance(xmpp(ip, f"log --peer {thermo}"), Inspector)
    stream = xmpp(ip, f"subscribe {thermo} t --min-interval 0s")
    assert stream.get(timeout=5).name == "t"
    stream.close()


def test_requests_and_approve_from_magics(ip, lab, name, online):
    alice, lamp = name("alice"), name("lamp")
    xmpp(ip, f"connect {alice} --as owner")
    ip.run_cell_magic("thing", lamp, "thing.sensor('on')(lambda: True)")
    xmpp(ip, f"befriend {lamp}")
    bob = online(Owner, name("bob"))
    pending = in_background(bob.befriend, f"{lamp}@{lab.domain}", timeout=10)
    assert eventually(lambda: len(xmpp(ip, "requests")) == 1)
    xmpp(ip, f"approve {bob.jid}")
    assert pending.result().friend


def test_a_thing_connection_and_disconnect(ip, name, capsys):
    sensor = xmpp(ip, f"connect {name('sensor')} --as thing")
    assert isinstance(sensor, Thing) and sensor.online
    with pytest.raises(UsageError, match="Only an owner can read a thing"):
        xmpp(ip, "read lamp")
    xmpp(ip, "disconnect")
    assert not sensor.online and "is offline" in capsys.readouterr().out


def test_another_server_takes_its_password_from_the_environment_or_getpass(ip, lab, name, monkeypatch):
    jid = lab.account(name("remote")).jid
    password = lab.password_of(jid)
    where = f"--host {lab.host} --port {lab.port} --ca-file {lab.ca_file}"
    monkeypatch.setenv("XMPP_PASSWORD", password)
    assert xmpp(ip, f"connect {jid} --as owner {where}").online
    xmpp(ip, "disconnect")
    monkeypatch.delenv("XMPP_PASSWORD")
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or password)
    assert xmpp(ip, f"connect {jid} --as owner {where}").online
    assert asked and jid in asked[0] and password not in asked[0]


def test_settings_are_traitlets(ip):
    ip.run_line_magic("config", "XmppMagics.timeout = 3.5")
    assert session(ip).timeout == 3.5


def test_the_shared_lab_is_not_stopped_by_accident(ip):
    with pytest.raises(UsageError, match="--shared"):
        xmpp(ip, "lab stop")


def test_tab_completion_of_subcommands_and_jids(ip, name):
    alice = name("alice")
    xmpp(ip, f"connect {alice} --as owner")
    assert {"read", "reject", "requests"} <= completions(ip, "%xmpp re")
    assert alice in completions(ip, f"%xmpp befriend {alice[:7]}")
    assert "thing" in completions(ip, "%xmpp connect x --as th")
    assert completions(ip, "%xmpp lab st") == {"start", "stop", "status"}


def completions(ip, line):
    from IPython.core.completer import provisionalcompleter

    with provisionalcompleter():
        return {c.text for c in ip.Completer.completions(line, len(line))}


def test_a_private_lab_is_announced_and_stops_with_lab_stop(lab, tmp_path, capsys):
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "xiotlab")
    try:
        shell.run_line_magic("config", f"XmppMagics.home = {str(tmp_path)!r}")  # no shared lab runs there
        private = xmpp(shell, "lab start")
        assert not private.persistent and private.status()["running"]
        assert "started a private one" in capsys.readouterr().out
        xmpp(shell, "lab stop")
        assert not private.status()["running"]
    finally:
        shell.run_line_magic("unload_ext", "xiotlab")


def test_a_password_is_never_echoed_back_whatever_its_shape(ip):
    for line in ("connect me@example.org hunter2 --as owner", "connect me -phunter2", "connect me --pw=hunter2"):
        with pytest.raises(UsageError) as error:
            xmpp(ip, line)
        assert "hunter2" not in str(error.value)


def test_the_timeout_setting_reaches_participants_already_online(ip, name):
    owner = xmpp(ip, f"connect {name('alice')} --as owner")
    ip.run_line_magic("config", "XmppMagics.timeout = 2.5")
    assert owner.timeout == 2.5


def test_one_account_cannot_be_online_here_as_two_roles(ip, name):
    alice = name("alice")
    xmpp(ip, f"connect {alice} --as owner")
    with pytest.raises(UsageError, match="online here as an owner"):
        xmpp(ip, f"connect {alice} --as thing")


def test_a_failed_rerun_of_a_thing_cell_says_what_is_left_and_history_survives_reruns(ip, name, capsys):
    alice, meter = name("alice"), name("meter")
    xmpp(ip, f"connect {alice} --as owner")
    thing = ip.run_cell_magic("thing", meter, "thing.sensor('power', unit='W')")
    thing.report(power=5.0)
    assert ip.run_cell_magic("thing", meter, "thing.sensor('power', unit='W')\n1/0") is None
    assert "now has only what the cell declared before the error" in capsys.readouterr().out
    assert [f.value for f in thing.history("power")] == [5.0]


def test_a_closed_plot_is_replaced_and_does_not_break_stopping(ip, name):
    alice, thermo = name("alice"), name("thermo")
    xmpp(ip, f"connect {alice} --as owner")
    ip.run_cell_magic("thing", thermo, "thing.sensor('t')(lambda: 1.0)")
    xmpp(ip, f"befriend {thermo}")
    plot = xmpp(ip, f"plot {thermo} t")
    plot.close()
    plot.close()
    again = xmpp(ip, f"plot {thermo} t")
    assert again is not plot
    with pytest.raises(UsageError, match="window='abc'"):
        xmpp(ip, f"plot {thermo} t --window abc")
    session(ip).disconnect_all()


def test_a_widget_asked_for_again_replaces_the_old_one(ip, name):
    owner = xmpp(ip, f"connect {name('alice')} --as owner")
    first = xmpp(ip, "roster")
    observing = len(owner.roster._observers)
    second = xmpp(ip, "roster")
    assert second is not first and len(owner.roster._observers) == observing


def test_a_full_jid_is_another_server_without_starting_a_lab(offline):
    class Args:
        host, name = None, "me@example.org"

    assert offline._elsewhere(Args) and offline.session.lab is None


def test_a_command_without_arguments_names_only_what_is_required(ip):
    with pytest.raises(UsageError, match=r"required: JID\[/NODE\] \(usage: %xmpp read .*\[FIELD \.\.\.\]\)"):
        xmpp(ip, "read")
    with pytest.raises(UsageError, match=r"required: JID\[/NODE\], FIELD \(usage"):
        xmpp(ip, "plot")
