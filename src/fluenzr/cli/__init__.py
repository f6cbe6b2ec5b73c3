"""The `fluenzr` command line: a thin adapter over fluenzr.services."""
