"""Typer builds a command's Click parameters only when that command is looked up.

Typer turns every registered command into a Click command when the app starts: it reads each
function's signature and evaluates every annotation (``typing.get_type_hints``), about 70
commands' worth, before anything runs — most of ``fluenzr --help``'s 0.2 s budget, and paid
again by every command. :func:`defer_commands` moves the registered commands of an app (and of
its groups) into a :class:`DeferredCommands` mapping: ``fluenzr send`` builds ``send`` alone,
and the help lists each command from its docstring without building any.

Nothing changes for the noun modules: they register with ``app.command(...)`` as usual, and
``main`` calls :func:`defer_commands` once, after every noun has registered.

It leans on two pieces of Typer (pinned ``<0.29``): ``TyperGroup.commands`` (a mapping Typer
reads only through ``get_command``/``list_commands``/``format_commands``, all overridden here)
and ``typer.main.get_command_from_info``. tests/unit/test_cli_lazy_commands.py compares help,
runs, errors and suggestions with Typer's own eager build, so an upgrade that breaks either
fails there.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, MutableMapping, Sequence
from gettext import gettext as _
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info
from typer.models import CommandInfo


def _name(info: CommandInfo) -> str:
    # As typer.main.get_command_from_info names it.
    assert info.callback is not None, "a command must have a callback function"
    return info.name or info.callback.__name__.lower().replace("_", "-")


def _summary(info: CommandInfo) -> _click.Command:
    """A parameterless stand-in carrying what the help's command list shows (no annotations)."""
    text = inspect.getdoc(info.callback) if info.help is None else inspect.cleandoc(info.help)
    return TyperCommand(
        _name(info),
        help=text,
        short_help=info.short_help,
        hidden=info.hidden,
        deprecated=info.deprecated,
    )


class DeferredCommands(MutableMapping[str, _click.Command]):
    """A group's commands by name, in registration order; each built on first lookup."""

    def __init__(
        self,
        deferred: Sequence[CommandInfo],
        built: MutableMapping[str, _click.Command],
        *,
        pretty_exceptions_short: bool,
        rich_markup_mode: Any,
    ) -> None:
        # Typer lists a group's own commands first, then its sub-groups (already built).
        self._deferred = {_name(info): info for info in deferred if _name(info) not in built}
        self._built: dict[str, _click.Command] = {}
        self._order = [*self._deferred, *built]
        self._built.update(built)
        self._pretty_exceptions_short = pretty_exceptions_short
        self._rich_markup_mode = rich_markup_mode

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._built:
            info = self._deferred[name]  # KeyError: no such command
            self._built[name] = get_command_from_info(
                info,
                pretty_exceptions_short=self._pretty_exceptions_short,
                rich_markup_mode=self._rich_markup_mode,
            )
        return self._built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        if name not in self._built and name not in self._deferred:
            self._order.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._built and name not in self._deferred:
            raise KeyError(name)
        self._built.pop(name, None)
        self._deferred.pop(name, None)
        self._order.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._deferred

    def built(self) -> set[str]:
        """The names built so far (what a lookup has paid for)."""
        return set(self._built)

    def peek(self, name: str) -> _click.Command:
        """The built command, or a stand-in for the help's list (building nothing)."""
        built = self._built.get(name)
        return built if built is not None else _summary(self._deferred[name])


class DeferredGroup(TyperGroup):
    """A Typer group whose commands come from a :class:`DeferredCommands` (one class per app)."""

    deferred: ClassVar[tuple[CommandInfo, ...]] = ()
    pretty_exceptions_short: ClassVar[bool] = True

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = DeferredCommands(
            type(self).deferred,
            self.commands,
            pretty_exceptions_short=type(self).pretty_exceptions_short,
            rich_markup_mode=self.rich_markup_mode,
        )

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.commands)  # names only: TyperGroup's reads every value (builds all)

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        # TyperGroup.format_commands, with the stand-ins: the list shows only each summary.
        assert isinstance(self.commands, DeferredCommands)
        shown = [(name, self.commands.peek(name)) for name in self.list_commands(ctx)]
        shown = [(name, cmd) for name, cmd in shown if not cmd.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _cmd in shown)
        rows = [(name, cmd.get_short_help_str(limit)) for name, cmd in shown]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)


def defer_commands(app: typer.Typer, *, pretty_exceptions_short: bool | None = None) -> None:
    """Defer building the commands registered on ``app`` and its groups until looked up.

    Call once, after every command is registered (commands registered later are built eagerly,
    as Typer does).
    """
    short = (
        app.pretty_exceptions_short if pretty_exceptions_short is None else pretty_exceptions_short
    )
    for group in app.registered_groups:
        if group.typer_instance is not None:
            defer_commands(group.typer_instance, pretty_exceptions_short=short)
    attrs = {"deferred": tuple(app.registered_commands), "pretty_exceptions_short": short}
    app.info.cls = type("DeferredGroup", (DeferredGroup,), attrs)
    app.registered_commands = []
