"""The bot's Slack Web API clients, how a Slack call in an activity becomes a Temporal outcome, and streamed
uploads."""
