"""Deferred Typer commands behave as Typer's eager ones: same help, same runs, same errors."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.testing import CliRunner

from fluenzr.cli.lazy_commands import DeferredCommands, defer_commands

BUILT: list[str] = []


def _app() -> typer.Typer:
    app = typer.Typer(
        name="demo", no_args_is_help=True, add_completion=False, rich_markup_mode=None
    )
    group = typer.Typer(help="Things: add, drop.", no_args_is_help=True)
    app.add_typer(group, name="things")

    @app.callback()
    def _root(verbose: Annotated[bool, typer.Option(help="Say more.")] = False) -> None:
        BUILT.append(f"root {verbose}")

    def hello(name: Annotated[str, typer.Option("--name", help="Who.")] = "world") -> None:
        """Say hello to someone, politely and at some length so the help has to cut it."""
        typer.echo(f"hello {name}")

    def secret_cmd() -> None:
        """Never listed."""

    def add(count: Annotated[int, typer.Argument(help="How many.")]) -> None:
        """Add things."""
        typer.echo(f"added {count}")

    def drop() -> None:
        """Drop things."""

    app.command("hello")(hello)
    app.command("secret", hidden=True)(secret_cmd)
    app.command(short_help="Old way.", deprecated=True)(drop)
    group.command("add")(add)
    group.command("drop")(drop)
    return app


def _run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


CASES = [
    ("--help",),
    (),
    ("things", "--help"),
    ("things",),
    ("hello", "--help"),
    ("hello", "--name", "ana"),
    ("--verbose", "things", "add", "3"),
    ("things", "add", "x"),
    ("helo",),
    ("things", "ad"),
    ("drop", "--help"),
]


def test_deferred_commands_behave_as_typers_own() -> None:
    eager, deferred = _app(), _app()
    defer_commands(deferred)
    for args in CASES:
        assert _run(deferred, *args) == _run(eager, *args), args


def test_the_help_builds_no_command_and_a_run_builds_only_its_own() -> None:
    app = _app()
    defer_commands(app)
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    commands = group.commands
    assert isinstance(commands, DeferredCommands)
    assert list(commands) == ["hello", "secret", "drop", "things"]
    assert commands.built() == {"things"}  # sub-groups are built (their commands are not)
    ctx = typer.Context(group)
    formatter = ctx.make_formatter()
    group.format_commands(ctx, formatter)
    assert "hello" in formatter.getvalue()
    assert "secret" not in formatter.getvalue()
    assert commands.built() == {"things"}
    assert commands["hello"].params[0].name == "name"
    assert commands.built() == {"things", "hello"}
