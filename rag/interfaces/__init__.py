"""How users reach it: the HTTP API, the page, the CLI."""
