"""How the suite is spread over xdist workers: tests sharing an expensive session fixture stay on one
worker, and the long groups start first (the longest one sets the wall time, so it must not start late).

Groups are named here by path, not by `xdist_group` marks: pytest-xdist 3.8 marks a group by appending
`@name` to `item._nodeid`, which pytest 9 no longer reads (`Node.nodeid` comes from a structured id), so
`--dist loadgroup` silently spread single tests and both workers started a Spark cluster and a platform.
"""

from xdist.scheduler import LoadScopeScheduling

# Node-id prefix -> group: each group runs on one worker.
GROUPS = {
    "tests/test_demo.py": "demo",  # `make demo` twice: the longest single test
    "tests/spark/": "spark",  # one Spark cluster (JVMs)
    "tests/gateway/": "platform",  # one whole platform (tests/conftest.py `stack`)...
    "tests/web/": "platform",  # ...which the officers' page tests use too
}
# Started in this order, before everything else (which keeps its collection order).
SLOW_FIRST = ("tests/test_demo.py", "tests/gateway/", "tests/web/", "tests/spark/")


def group_of(nodeid: str) -> str | None:
    return next((group for prefix, group in GROUPS.items() if nodeid.startswith(prefix)), None)


def start_rank(nodeid: str) -> int:
    """Position of the test's slow group in SLOW_FIRST; after all of them for any other test."""
    return next(
        (rank for rank, prefix in enumerate(SLOW_FIRST) if nodeid.startswith(prefix)), len(SLOW_FIRST)
    )


class PathGroupScheduling(LoadScopeScheduling):
    """Work units are the GROUPS, and every other test module (its module fixtures set up once)."""

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid) or super()._split_scope(nodeid)
