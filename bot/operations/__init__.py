"""What each command does, for every surface (the Slack listeners and the terminal CLI)."""
