"""MQTT topics as nodes (xiotlab.bridges.topics): one node per level, odd topics, a cap on nodes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xiotlab.bridges.topics import MAX_DEPTH, MAX_TOPIC, NodePath, TopicTree, node_path


def test_one_node_per_level_each_below_the_one_before():
    assert node_path("home/garden/weather") == [
        NodePath("home", None, "home"),
        NodePath("home/garden", "home", "garden"),
        NodePath("home/garden/weather", "home/garden", "weather"),
    ]


def test_empty_levels_are_levels():
    assert node_path("a//b") == [NodePath("a", None, "a"), NodePath("a/", "a", "(empty)"), NodePath("a//b", "a/", "b")]
    assert node_path("a/") == [NodePath("a", None, "a"), NodePath("a/", "a", "(empty)")]


def test_a_leading_slash_gives_no_empty_root():
    assert node_path("/x") == [NodePath("/x", None, "x")]
    assert node_path("//x") == [NodePath("/", None, "(empty)"), NodePath("//x", "/", "x")]
    assert node_path("/") == [NodePath("/", None, "(empty)")]


def test_wildcard_characters_are_ordinary_characters_of_a_published_topic():
    assert [p.id for p in node_path("a/+/#")] == ["a", "a/+", "a/+/#"]


def test_deep_topics_fold_into_the_last_level():
    topic = "/".join(f"l{i}" for i in range(100))
    path = node_path(topic)
    assert len(path) == MAX_DEPTH
    assert path[-1].id == topic and path[-1].parent == path[-2].id
    assert path[-1].display_name == "/".join(f"l{i}" for i in range(MAX_DEPTH - 1, 100))


def test_characters_xml_cannot_carry_are_replaced():
    assert node_path("a\x01b")[0].id == "a\ufffdb"


@pytest.mark.parametrize("topic", ["", "x" * (MAX_TOPIC + 1)])
def test_unusable_topics(topic):
    with pytest.raises(ValueError):
        node_path(topic)


def test_tree_makes_each_node_once_and_counts_what_does_not_fit():
    tree = TopicTree(max_nodes=4)
    assert [p.id for p in tree.place("a/b")] == ["a", "a/b"]
    assert tree.place("a/b") == []
    assert [p.id for p in tree.place("a/c")] == ["a/c"]
    assert tree.place("x/y") is None  # two more nodes: one too many
    assert [p.id for p in tree.place("z")] == ["z"]
    assert tree.place("") is None
    assert tree.dropped == 2 and len(tree) == 4
    tree.forget("z")
    assert "z" not in tree and tree.place("a/d") is not None


@given(st.text(min_size=1, max_size=200))
def test_any_topic_gives_a_chain_ending_in_its_own_node(topic):
    path = node_path(topic)
    assert path and len(path) <= MAX_DEPTH
    assert path[0].parent is None
    assert all(child.parent == parent.id for parent, child in itertools.pairwise(path))
    assert all(p.id and p.display_name for p in path)
    assert len({p.id for p in path}) == len(path)
