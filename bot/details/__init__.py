"""The Details modal's read side: a run, one child and one batch as Temporal holds them, read within a cost bounded
whatever the run's size. Each page costs at most one visibility list, one query or result read, and one batch result
decoded, beside finding the run (bot.runs.lookup) and its request (the first event of its history, read alone);
a child's story costs one event per attempt (``--retries``: at most 10). Nothing is stored: what the modal shows is
the run's result, its progress query, visibility and histories. What it looks like is bot.render.details.

``page`` puts a run's page together; ``ended`` lists an ended run's children or batches from its result alone;
``live`` lists a live run's from one visibility list; ``story`` tells one child's story from its history;
``batch`` reads one batch's failures from its result.
"""
