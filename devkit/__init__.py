"""The development kit: what `make dev`, the tests and the bench use, and nothing the product needs.

It is left out of the wheel and of the Docker image (.dockerignore), and no product module imports it
(import-linter's contracts in pyproject.toml): `make dev`'s supervisor and terminal console, a loopback fake of
Slack, the flags of the Temporal dev servers we start, and Block Kit Builder previews of what the bot shows.
"""
