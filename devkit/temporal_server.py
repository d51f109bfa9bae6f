"""The flags every Temporal dev server we start passes (``make dev``, the tests, ``make bench``).

- /fanout's search attributes (runtime.search_attributes), registered when the server creates its database.
- One partition per task queue. Temporal divides a queue's rate limit among the queue's partitions, and
  with the default four a backlog that lands in one partition drains at a quarter of the rate: measured
  here, 20 activities on a 40/min queue took 47 s instead of 28 s, the last ones one every 6 s, and final
  edits of a busy workshop waited up to a minute. With one partition the Slack queues keep their budgets
  exactly; on a one-node dev server the fan-out is also faster (1,000 children: 22.6 s -> 16.4 s, measured
  side by side on this machine). A cluster sets the same per queue in its dynamic config
  (docs/operations.md, "Task-queue partitions").
- Fairness in matching. The bot puts each post's channel on it as its fairness key, with a rate limit per key on
  the posts queue (bot.queues), so each channel's posts go at Slack's ~1 per second while the other channels'
  share the workspace's budget fairly instead of waiting behind a busy one.
"""

from __future__ import annotations

from runtime import search_attributes as sa

ONE_PARTITION = ["--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
                 "--dynamic-config-value", "matching.numTaskqueueWritePartitions=1"]
FAIRNESS = ["--dynamic-config-value", "matching.enableFairness=true"]
MATCHING = ONE_PARTITION + FAIRNESS  # how the server hands out tasks: what every dev server of ours gets


def search_attribute_args() -> list[str]:
    args: list[str] = []
    for key in sa.ALL:
        args += ["--search-attribute", f"{key.name}={sa.TYPE_NAME}"]
    return args


def args() -> list[str]:
    """``temporal server start-dev`` arguments: the search attributes, one partition per queue, fairness."""
    return search_attribute_args() + MATCHING
