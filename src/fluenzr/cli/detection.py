"""CLI commands of the detection area (placeholder until that area lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add this area's commands to the root app and the `accounts` group."""
