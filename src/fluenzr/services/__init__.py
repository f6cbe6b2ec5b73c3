"""Use cases shared by the API, the web UI, the CLI and the worker. No HTTP, no Typer here."""
