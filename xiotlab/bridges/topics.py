"""MQTT topics as a tree of nodes: one node per topic level, each the child of the one before.

Pure bookkeeping, no network. A node's id is the topic up to and including its level, so
the node of ``home/garden/weather`` has that id, its parent is ``home/garden``, whose parent
is ``home`` (a root). The display name is the level itself.

Odd topics, as brokers pass them on:

- empty levels are levels (MQTT says so): ``a//b`` is ``a``, ``a/`` (shown ``(empty)``),
  ``a//b``; a leading ``/`` makes an empty first level, whose id would be empty: it gets no
  node, and ``/x`` is a root;
- ``+`` and ``#`` are wildcards in subscriptions and cannot be in a published topic; should a
  broker pass one on anyway, it is an ordinary character of the id;
- characters XML cannot carry are replaced by U+FFFD in ids and names (the bridge keeps the
  real topic to publish to);
- past :data:`MAX_DEPTH` levels, the rest of the topic is the last node's one level;
- a topic longer than :data:`MAX_TOPIC` characters, or empty, gets no node.

:class:`TopicTree` keeps which nodes exist and refuses new ones past ``max_nodes``,
counting the topics it refused.
"""

from __future__ import annotations

import dataclasses

from .payloads import clean

MAX_DEPTH = 32
"""Levels of a topic that become nodes of their own; deeper levels are part of the last one."""
MAX_TOPIC = 1024
"""Characters of a topic; a longer one is refused (MQTT allows 65,535 bytes: no tree needs that)."""
DEFAULT_MAX_NODES = 20_000
"""Nodes one bridge makes at most, the parents included."""
EMPTY_LEVEL = "(empty)"
"""The display name of an empty topic level."""


@dataclasses.dataclass(frozen=True)
class NodePath:
    """One node a topic needs: its id, its parent's id (None for a root), its display name."""

    id: str
    parent: str | None
    display_name: str


def node_path(topic: str) -> list[NodePath]:
    """The nodes of ``topic``, root first; the last one's id is the topic. ValueError for an unusable topic."""
    if not topic:
        raise ValueError("an empty topic has no node")
    if len(topic) > MAX_TOPIC:
        raise ValueError(f"a topic of {len(topic)} characters is longer than {MAX_TOPIC}")
    levels = topic.split("/")
    if len(levels) > MAX_DEPTH:
        levels = [*levels[: MAX_DEPTH - 1], "/".join(levels[MAX_DEPTH - 1 :])]
    path: list[NodePath] = []
    prefix: str | None = None
    for level in levels:
        prefix = level if prefix is None else f"{prefix}/{level}"
        if not prefix:
            continue  # the empty first level of a topic starting with "/"
        path.append(NodePath(clean(prefix), path[-1].id if path else None, clean(level) or EMPTY_LEVEL))
    return path


class TopicTree:
    """The nodes made so far; :meth:`place` says which a new topic needs, within ``max_nodes``."""

    def __init__(self, max_nodes: int = DEFAULT_MAX_NODES) -> None:
        if max_nodes < 1:
            raise ValueError(f"max_nodes={max_nodes}: a bridge needs room for at least one node")
        self.max_nodes = max_nodes
        self.dropped = 0  # messages whose topic got no node (unusable, or no room left)
        self._nodes: set[str] = set()

    def place(self, topic: str) -> list[NodePath] | None:
        """The nodes ``topic`` needs that do not exist yet (root first, maybe none), now counted as made.

        None, counted in :attr:`dropped`, if the topic is unusable or its nodes do not fit in ``max_nodes``.
        """
        try:
            path = node_path(topic)
        except ValueError:
            self.dropped += 1
            return None
        missing = [node for node in path if node.id not in self._nodes]
        if len(self._nodes) + len(missing) > self.max_nodes:
            self.dropped += 1
            return None
        self._nodes.update(node.id for node in missing)
        return missing

    def forget(self, node_id: str) -> None:
        """A node was removed: its id may be placed again."""
        self._nodes.discard(node_id)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)
