"""The node directory of a concentrator: a tree by data source, read while other threads change it."""

from __future__ import annotations

import threading

from xiotlab.protocol.values import NodeRef
from xiotlab.roles.nodes import Node, NodeDirectory


class Host:
    """The narrowest host a node can have: it keeps nothing."""

    jid = "gateway@lab.example"

    def push(self, fields) -> None:
        pass

    def remove_node(self, node) -> None:
        pass

    def node_changed(self, node, status=False) -> None:
        pass


def make(node_id: str, parent: str | None = None, source: str = "nodes") -> Node:
    return Node(Host(), NodeRef(node_id, source), parent=parent, display_name=None, node_type="t", history_size=5)


def test_children_ancestors_and_removal_of_a_subtree():
    tree = NodeDirectory()
    for node in (make("a"), make("a/b", "a"), make("a/b/c", "a/b"), make("x", source="other")):
        tree.add(node)
    assert [n.id for n in tree.children(None)] == ["a", "x"]
    assert [n.id for n in tree.children(None, "other")] == ["x"]
    assert [n.id for n in tree.ancestors(tree.get("nodes", "a/b/c"))] == ["a/b", "a"]
    gone = tree.discard(tree.get("nodes", "a/b"))
    assert [n.id for n in gone] == ["a/b/c", "a/b"] and [n.id for n in tree] == ["a", "x"]
    assert tree.children(tree.get("nodes", "a")) == []


def test_a_stale_node_does_not_remove_its_replacement():
    tree = NodeDirectory()
    old = make("lamp")
    tree.add(old)
    tree.discard(old)
    new = make("lamp")
    tree.add(new)
    assert tree.discard(old) == [] and tree.find(NodeRef("lamp")) is new


def test_readers_see_a_consistent_directory_while_another_thread_adds_nodes():
    tree = NodeDirectory()
    tree.add(make("root"))
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        for n in range(20_000):
            tree.add(make(f"root/{n}", "root"))
        done.set()

    def read() -> None:
        try:
            while not done.is_set():
                tree.find(NodeRef("nobody"))
                tree.sources()
                tree.children(None)
                tree.children(tree.get("nodes", "root"))
        except BaseException as e:  # the failure this guards against: "dictionary changed size during iteration"
            errors.append(e)

    readers = [threading.Thread(target=read) for _ in range(2)]
    writer = threading.Thread(target=write)
    for thread in (*readers, writer):
        thread.start()
    for thread in (writer, *readers):
        thread.join(60)
    assert errors == []
