"""What the bot shows, as Slack Block Kit (pure): a run's message and summary, replies to the other commands,
the run form; and those messages as terminal text."""
