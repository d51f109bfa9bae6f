"""A run in Temporal, as the bot reads it: who started it and where (info), finding a channel's runs (lookup),
and its request and every value's outcome (results)."""
