"""What every /fanout process shares, and the worker service: settings read from the environment, the one
place that builds the Temporal client, logging, the search attributes, and plugins' child types. No Slack."""
