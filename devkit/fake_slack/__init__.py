"""A loopback fake of Slack for `make dev`'s console and the tests: its Web API (web_api) with Slack's rate tiers
(limits), and the requests Slack sends an app, signed (requests)."""
