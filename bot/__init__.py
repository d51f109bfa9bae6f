"""/fanout: a Slack bot that runs Temporal fan-out workflows."""
