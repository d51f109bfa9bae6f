"""A run's life in Slack as durable Temporal work: ReporterWorkflow (reporter), its payloads, and the activities
that talk to Slack (activities)."""
