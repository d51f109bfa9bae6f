"""The flags every Temporal dev server we start passes (``make dev``, the tests, ``make bench``).

- /fanout's search attributes (runtime.search_attributes), registered when the server creates its database.
- One partition per task queue. Temporal divides a queue's rate limit among the queue's partitions, and
  with the default four a backlog that lands in one partition drains at a quarter of the rate: measured
  here, 20 activities on a 40/min queue took 47 s instead of 28 s, the last ones one every 6 s, and final
  edits of a busy workshop waited up to a minute. With one partition the Slack queues keep their budgets
  exactly; on a one-node dev server the fan-out is also faster (1,000 children: 22.6 s -> 16.4 s, measured
  side by side on this machine). A cluster sets the same per queue in its dynamic config
  (docs/operations.md, "Task-queue partitions").
"""

from __future__ import annotations

from runtime import search_attributes as sa

ONE_PARTITION = ["--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
                 "--dynamic-config-value", "matching.numTaskqueueWritePartitions=1"]


def search_attribute_args() -> list[str]:
    args: list[str] = []
    for key in sa.ALL:
        args += ["--search-attribute", f"{key.name}={sa.TYPE_NAME}"]
    return args


def args() -> list[str]:
    """``temporal server start-dev`` arguments: the search attributes and one partition per queue."""
    return search_attribute_args() + ONE_PARTITION
