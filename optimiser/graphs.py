"""Dependency graphs: find a cycle, if there is one."""

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)


def find_cycle(graph: Mapping[Node, Iterable[Node]]) -> list[Node] | None:
    """A cycle as a path whose first and last nodes are the same, or None.

    Iterative depth-first search (no recursion limit on long chains); nodes are visited in
    sorted order so the same graph always reports the same cycle.
    """
    state: dict[Node, int] = {}  # 1 = on the current path, 2 = finished
    for root in sorted(graph):
        if root in state:
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append(iter(sorted(graph.get(child, ()))))
    return None
