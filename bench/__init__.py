"""``python -m bench`` (``make bench``): the lab's ParentWorkflow against ours, large runs end to end
through the bot, and slash-command ack latency under load. See bench/__main__.py."""
