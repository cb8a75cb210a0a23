"""A lab on a two-node ejabberd cluster: things on one node, owners on the other, a node killed.

``LabServer(engine="ejabberd", nodes=2)`` joins node 2 to node 1 (``join_cluster``);
``lab.node(i)`` is the lab as seen from node ``i``: a participant given it connects there, and
moves to the other node when its own is gone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xiotlab import LabServer, Owner, Thing
from xiotlab.errors import LabNotRunning, ServerStartFailed
from xiotlab.server import ejabberd
from xiotlab.server.cluster import Cluster

from ..waiting import eventually
from .test_ejabberd import epmds

pytestmark = pytest.mark.integration


_EPMDS_BEFORE: set[int] = set()


@pytest.fixture(scope="module")
def cluster():
    _EPMDS_BEFORE.update(epmds())
    with LabServer(engine="ejabberd", nodes=2) as lab:
        yield lab


def _members(home: Path, index: int) -> list[str]:
    """The cluster's nodes as node ``index`` lists them (ejabberd's ``list_cluster``)."""
    api = ejabberd.Api(ejabberd.NodeFiles(home, index))
    try:
        return sorted(ejabberd.cluster_nodes(api))
    finally:
        api.close()


BOTH = sorted([ejabberd.NodeFiles(Path(), 1).node, ejabberd.NodeFiles(Path(), 2).node])


def _household(lab: LabServer, name, started: list):
    """An owner on node 2 and her lamp on node 1 (a sensor and a control), friends."""
    alice = Owner(name("alice"), lab=lab.node(2), timeout=10)
    lamp = Thing(name("lamp"), owner=alice.jid, lab=lab.node(1), timeout=10)
    lamp.sensor("temperature", unit="°C")(lambda: 21.5)
    switched: list[bool] = []
    lamp.control("on", type=bool)(switched.append)
    started += [alice.start(), lamp.start()]
    alice.befriend(lamp.jid)
    return alice, lamp, switched


@pytest.fixture
def household(cluster, name):
    started: list = []
    yield _household(cluster, name, started)
    for participant in started:
        participant.stop()


def test_two_nodes_run_joined_in_one_cluster(cluster):
    assert len(cluster.node_pids()) == 2 and all(map(ejabberd.pid_is_ejabberd, cluster.node_pids()))
    first, second = cluster.endpoints
    assert first == (cluster.host, cluster.port) and first != second
    assert cluster.fallbacks == (second,)
    assert cluster.node(2).fallbacks == (first,)
    assert cluster.status()["nodes"] == [first, second]
    assert _members(cluster.home, 1) == _members(cluster.home, 2) == BOTH
    assert epmds() <= _EPMDS_BEFORE, "the nodes joined without epmd: none may be left running"


def test_killing_a_node_checks_which_and_that_it_is_ours(cluster):
    for index in (0, 3, -1):
        with pytest.raises(ValueError, match=f"no node {index}"):
            cluster.kill_node(index)
    stale = Cluster(cluster.home, 2).load()
    stale.states[1].pid = os.getpid()  # a pid reused by another program: never killed
    with pytest.raises(LabNotRunning, match="Node 2"):
        stale.kill(2)
    assert len(cluster.node_pids()) == 2


def test_the_number_of_nodes_is_checked_before_anything_is_made(tmp_path):
    for nodes in (0, 5):
        with pytest.raises(ValueError, match="1 to 4 ejabberd nodes"):
            LabServer(tmp_path / "home", engine="ejabberd", nodes=nodes)
    (tmp_path / "home" / "ejabberd" / "node3" / "spool").mkdir(parents=True)
    (tmp_path / "home" / "ejabberd" / "node3" / "spool" / "schema.DAT").write_text("")
    with pytest.raises(ValueError, match="nodes=3"):
        LabServer(tmp_path / "home", engine="ejabberd", nodes=2)
    assert not (tmp_path / "home" / "certs").exists()


def test_a_join_that_failed_is_made_again_at_the_next_start(tmp_path, monkeypatch, name):
    home = tmp_path / "home"

    def join_times_out(*args: object) -> None:
        raise ServerStartFailed("the join did not finish in time (made to fail by this test)")

    monkeypatch.setattr(ejabberd, "join_cluster", join_times_out)
    with pytest.raises(ServerStartFailed, match="made to fail"):
        LabServer(home, engine="ejabberd", nodes=2).start()
    monkeypatch.undo()
    assert any(ejabberd.NodeFiles(home, 2).spool.iterdir()), "node 2 wrote a schema of its own before the join"
    with LabServer(home, engine="ejabberd", nodes=2) as lab:
        assert _members(home, 1) == _members(home, 2) == BOTH
        newcomer = Owner(lab.account(name("bob")).jid, lab=lab.node(2), timeout=10).start()
        assert newcomer.online
        newcomer.stop()


def test_nodes_that_cannot_be_given_the_accounts_are_stopped(tmp_path, monkeypatch):
    home = tmp_path / "home"

    def refused(*args: object) -> None:
        raise ServerStartFailed("registration refused (made to fail by this test)")

    monkeypatch.setattr(Cluster, "register_missing", refused)
    with pytest.raises(ServerStartFailed, match="made to fail"):
        LabServer(home, engine="ejabberd", detach=True).start()
    assert not Cluster(home).load().live_states(), "no node is left running without the lab knowing it"
    assert not (home / "lab.json").exists()


def test_an_account_made_through_a_stale_lab_object_reaches_the_restarted_server(tmp_path, name):
    home = tmp_path / "home"
    LabServer(home, engine="ejabberd", detach=True).start()
    stale = LabServer.running(home)
    stale.stop()
    restarted = LabServer(home, engine="ejabberd", detach=True).start()  # as another process would
    try:
        account = stale.account(name("carol"))
        carol = Owner(account.jid, password=account.password, lab=restarted, timeout=10).start()
        assert carol.online
        carol.stop()
    finally:
        restarted.stop()


def test_every_operation_works_across_the_nodes(household):
    alice, lamp, switched = household
    assert eventually(lambda: alice.roster[lamp.jid].friend and lamp.roster[alice.jid].friend)
    assert [f.value for f in alice.read(lamp.jid)] == [21.5]
    stream = alice.subscribe(lamp.jid, "temperature")
    for value in (1.0, 2.0, 3.0):
        lamp.report(temperature=value)
    assert eventually(lambda: stream.count == 3)
    assert [f.value for f in stream.drain()] == [1.0, 2.0, 3.0]
    alice.set(lamp.jid, on=True)
    assert switched == [True]
    alice.unfriend(lamp.jid)
    assert lamp.jid not in alice.roster
    assert eventually(lambda: alice.jid not in lamp.roster or not lamp.roster[alice.jid].friend)


def test_the_lab_services_answer_clients_of_either_node(cluster, name):
    thing = Thing(name("therm"), lab=cluster.node(2), tags={"MAN": "Acme", "SN": name("sn")}, timeout=10).start()
    try:
        assert eventually(lambda: thing.registered), "a thing on node 2 registers with the registry on node 1"
    finally:
        thing.stop()


def test_a_killed_nodes_clients_move_to_the_other_node_and_serve_again(name):
    with LabServer(engine="ejabberd", nodes=2) as lab:
        started: list = []
        try:
            alice, lamp, switched = _household(lab, name, started)
            first_pid = lab.pid
            lab.kill_node(1)  # the lamp's node dies, as in a crash
            assert eventually(lambda: lab.pid != first_pid) and lab.pid == lab.node_pids()[0], "node 2's pid now"
            assert eventually(lambda: not lamp.online)
            assert eventually(lambda: lamp.online, seconds=30), lamp.connection
            assert len(lab.node_pids()) == 1
            # Back on node 2: read and controlled again by the owner, who never left. Her roster may
            # still list the lamp's connection to the dead node (no goodbye came from it): the
            # newest is the one used.
            new = lamp.full_jid.split("/")[1]
            assert eventually(lambda: new in alice.roster[lamp.jid].resources, seconds=30)
            assert [f.value for f in alice.read(lamp.jid)] == [21.5]
            alice.set(lamp.jid, on=False)
            assert switched == [False]
            # The lab runs on, with node 2: a participant told to use node 1 starts on node 2.
            assert lab.is_running
            latecomer = Owner(name("late"), lab=lab.node(1), timeout=10).start()
            started.append(latecomer)
            assert latecomer.online
            # The services, on node 1 until it died, moved to node 2: a new thing registers there.
            therm = Thing(name("therm"), lab=lab.node(2), tags={"MAN": "Acme", "SN": name("sn")}, timeout=10)
            started.append(therm.start())
            assert eventually(lambda: therm.registered, seconds=30)
        finally:
            for participant in started:
                participant.stop()


def test_a_cluster_whose_first_node_crashed_starts_again_with_its_accounts(tmp_path, name):
    home = tmp_path / "home"
    with LabServer(home, engine="ejabberd", nodes=2) as lab:
        account = lab.account(name("alice"))
        lab.kill_node(1)
    # Node 2 went down last: Mnesia on node 1 waits for it, so the two start together.
    with LabServer(home, engine="ejabberd", nodes=2) as again:
        assert len(again.node_pids()) == 2
        assert _members(home, 1) == _members(home, 2) == BOTH
        for index in (1, 2):
            alice = Owner(account.jid, lab=again.node(index), timeout=10).start()
            assert alice.online
            alice.stop()
        # The services, gone with node 1 (their listeners are there only), are back with the lab.
        thing = Thing(name("therm"), lab=again.node(2), tags={"MAN": "Acme", "SN": name("sn")}, timeout=10).start()
        try:
            assert eventually(lambda: thing.registered, seconds=15)
        finally:
            thing.stop()
