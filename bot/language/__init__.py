"""The /fanout command language: its table (options, subcommands, examples), its grammar (text -> command), the
table as text (help, usage), schedule specs, and scenarios written in it (FANOUT_SCENARIOS)."""
