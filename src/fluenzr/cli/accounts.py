"""`fluenzr accounts add|list|show|edit|remove`: the mailboxes FluenzR sends from."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fluenzr.cli.local_files import read_pem_file
from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE
from fluenzr.error_codes import ErrorCode

if TYPE_CHECKING:
    from fluenzr.services.account_views import AccountView

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
IdArg = Annotated[int, typer.Argument(help="Account id.")]
Opt = typer.Option


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add this noun's commands to the `accounts` group."""
    accounts.command("add")(cmd_add)
    accounts.command("list")(cmd_list)
    accounts.command("show")(cmd_show)
    accounts.command("edit")(cmd_edit)
    accounts.command("remove")(cmd_remove)


def _show(view: AccountView, *, as_json: bool) -> None:
    if as_json:
        print_json(view.model_dump(mode="json"))
        return
    data = view.model_dump(mode="json")
    table(None, ["", ""], [(key, value) for key, value in data.items() if value is not None])


def _account_rows(views: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    from fluenzr.i18n import translate  # lazy: catalogues only for text output

    rows = []
    for v in views:
        status = translate(f"status.{v['status']}")
        if v["status_reason"]:
            status += f" ({v['status_reason']})"
        imap = f"{v['imap_host']}:{v['imap_port']}" if v["imap_host"] else "—"
        smtp = f"{v['smtp_host']}:{v['smtp_port']} {v['smtp_security']}"
        row = (v["id"], v["email"], v["display_name"], v["provider"], smtp, imap, status)
        health = v.get("health") or {}
        extra = (", ".join(v.get("tags") or []), health.get("score", ""))
        rows.append((*row, f"{v['daily_limit']}/d", *extra))
    return rows


def cmd_add(
    email: Annotated[str, Opt("--email", help="Email: full address.")],
    name: Annotated[str, Opt("--name", help="Nombre visible: sender name.")] = "",
    preset: Annotated[str | None, Opt(help="Provider preset (fluenzr presets).")] = None,
    smtp_host: Annotated[str | None, Opt(help="Servidor SMTP.")] = None,
    smtp_port: Annotated[int | None, Opt(help="Puerto: 587 (TLS) or 465 (SSL).")] = None,
    smtp_security: Annotated[str | None, Opt(help="starttls (TLS) | ssl (SSL).")] = None,
    username: Annotated[str | None, Opt(help="Nombre de usuario (default: email).")] = None,
    password_stdin: Annotated[bool, Opt(help="Read the password from stdin.")] = False,
    password_env: Annotated[str | None, Opt(help="Read the password from this variable.")] = None,
    imap_host: Annotated[str | None, Opt(help="Servidor IMAP (optional).")] = None,
    imap_port: Annotated[int | None, Opt(help="IMAP port (993 SSL).")] = None,
    imap_security: Annotated[str | None, Opt(help="ssl | starttls.")] = None,
    imap_username: Annotated[str | None, Opt(help="IMAP user (default: SMTP user).")] = None,
    imap_password_env: Annotated[
        str | None, Opt(help="IMAP password from this variable (default: SMTP password).")
    ] = None,
    smtp_ca_file: Annotated[
        Path | None, Opt(help="Extra trusted CA for SMTP: a local PEM file, stored as text.")
    ] = None,
    imap_ca_file: Annotated[Path | None, Opt(help="Extra trusted CA for IMAP (PEM file).")] = None,
    no_auth: Annotated[
        bool, Opt(help="Send without SMTP AUTH (a local relay; single-user policy only).")
    ] = False,
    pin_sha256: Annotated[str | None, Opt(help="Pinned server certificate SHA-256.")] = None,
    daily_limit: Annotated[int | None, Opt(help="Max sends per day (default 50).")] = None,
    hourly_limit: Annotated[int | None, Opt(help="Max sends per hour (default 10).")] = None,
    min_interval: Annotated[int | None, Opt(help="Min seconds between sends.")] = None,
    max_interval: Annotated[int | None, Opt(help="Max seconds between sends.")] = None,
    timezone: Annotated[str | None, Opt(help="IANA time zone for limits/window.")] = None,
    force: Annotated[bool, Opt(help="Accept an unusual port/encryption pair.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add an SMTP account (+ SMTP). The password is never a command-line value."""
    # lazy: the services pull in SQLAlchemy; `--help` and other nouns never pay for them
    from fluenzr.cli.passwords import read_password
    from fluenzr.errors import ValidationError
    from fluenzr.services.account_config import AccountInput
    from fluenzr.services.accounts import create_account

    with handled(as_json=as_json):
        secret = read_password(from_stdin=password_stdin, env_var=password_env)
        if secret is None:
            raise ValidationError(ErrorCode.PASSWORD_SOURCE_MISSING, params={"field": "password"})
        imap_secret = read_password(
            from_stdin=False, env_var=imap_password_env, field="imap_password", prompt=False
        )
        data = AccountInput(
            email=email,
            display_name=name,
            preset=preset,
            smtp_host=smtp_host,
            smtp_port=smtp_port,
            smtp_security=smtp_security,
            username=username,
            password=secret,
            imap_host=imap_host,
            imap_port=imap_port,
            imap_security=imap_security,
            imap_username=imap_username,
            imap_password=imap_secret,
            smtp_ca_pem=read_pem_file(smtp_ca_file, field="smtp_ca_file") if smtp_ca_file else None,
            imap_ca_pem=read_pem_file(imap_ca_file, field="imap_ca_file") if imap_ca_file else None,
            smtp_auth=not no_auth,
            pin_sha256=pin_sha256,
            daily_limit=daily_limit,
            hourly_limit=hourly_limit,
            min_interval=min_interval,
            max_interval=max_interval,
            timezone=timezone,
            force=force,
        )
        view = create_account(STATE.app(), workspace_id=STATE.workspace_id(), data=data)
        _show(view, as_json=as_json)


def cmd_list(
    search: Annotated[
        str, Opt("--search", help="Text in the email, its domain, the name or a host.")
    ] = "",
    tag: Annotated[str, Opt("--tag", help="Only accounts with this tag.")] = "",
    status: Annotated[str, Opt("--status", help="active | paused | error.")] = "",
    provider: Annotated[str, Opt("--provider", help="Only this provider (gmail, custom…).")] = "",
    test: Annotated[str, Opt("--test", help="Last Probar: ok | failed | never.")] = "",
    reason: Annotated[str, Opt("--reason", help="Paused or failed for this reason code.")] = "",
    sort: Annotated[str, Opt("--sort", help="id, email, name, provider, host, status, …")] = "id",
    page: Annotated[int | None, Opt("--page", help="Page number (from 1).")] = None,
    per_page: Annotated[int | None, Opt("--per-page", help="Accounts per page (max 500).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List accounts (Cuentas de Email), filtered and paged. Secrets are never shown.

    Without --page or --per-page every match is listed; --json prints
    {"total", "page", "per_page", "accounts": [...]}, each with its tags and health score.
    """
    # lazy: SQLAlchemy Core only; no ORM, pydantic view or vault (start-up, docs/cli.md)
    from fluenzr.services.account_filters import account_filter, page_request
    from fluenzr.services.account_listing import account_page_dicts

    with handled(as_json=as_json):
        chosen = account_filter(
            search=search, status=status, provider=provider, tag=tag, test=test, reason=reason
        )
        paged = page is not None or per_page is not None
        paging = page_request(page=page or 1, per_page=(per_page or 50) if paged else 0, sort=sort)
        found = account_page_dicts(
            STATE.app().engine,
            workspace_id=STATE.workspace_id(),
            chosen=chosen,
            paging=paging,
            now=STATE.app().clock.now(),
        )
        if as_json:
            print_json(found)
            return
        from fluenzr.i18n import translate  # lazy: see cmd_add

        views = found["accounts"]
        if not views:
            console().print(translate("accounts.none"))
        else:
            columns = ["id", "email", "name", "provider", "SMTP", "IMAP", "status", "limit"]
            table(translate("accounts.title"), [*columns, "tags", "health"], _account_rows(views))
            if paged:
                console().print(
                    translate("fleet.cli.page", page=found["page"], total=found["total"])
                )


def cmd_show(account_id: IdArg, as_json: JsonOpt = False) -> None:
    """Show one account."""
    from fluenzr.services.accounts import get_account  # lazy: see cmd_add

    with handled(as_json=as_json):
        view = get_account(STATE.app(), workspace_id=STATE.workspace_id(), account_id=account_id)
        _show(view, as_json=as_json)


def _pem_option(path: str | None, *, field: str) -> str | None:
    if path is None:
        return None
    return read_pem_file(path, field=field) if path else ""


def cmd_edit(
    account_id: IdArg,
    email: Annotated[str | None, Opt("--email")] = None,
    name: Annotated[str | None, Opt("--name")] = None,
    smtp_host: Annotated[str | None, Opt()] = None,
    smtp_port: Annotated[int | None, Opt()] = None,
    smtp_security: Annotated[str | None, Opt()] = None,
    username: Annotated[str | None, Opt()] = None,
    password_stdin: Annotated[bool, Opt(help="New password from stdin.")] = False,
    password_env: Annotated[str | None, Opt(help="New password from this variable.")] = None,
    imap_host: Annotated[str | None, Opt(help="'' turns IMAP off.")] = None,
    imap_port: Annotated[int | None, Opt()] = None,
    imap_security: Annotated[str | None, Opt()] = None,
    imap_username: Annotated[str | None, Opt()] = None,
    imap_password_env: Annotated[str | None, Opt()] = None,
    smtp_ca_file: Annotated[str | None, Opt(help="Local PEM file; '' removes the CA.")] = None,
    imap_ca_file: Annotated[str | None, Opt(help="Local PEM file; '' removes the CA.")] = None,
    auth: Annotated[bool | None, Opt("--auth/--no-auth", help="SMTP AUTH on or off.")] = None,
    pin_sha256: Annotated[str | None, Opt()] = None,
    daily_limit: Annotated[int | None, Opt()] = None,
    hourly_limit: Annotated[int | None, Opt()] = None,
    min_interval: Annotated[int | None, Opt()] = None,
    max_interval: Annotated[int | None, Opt()] = None,
    timezone: Annotated[str | None, Opt()] = None,
    force: Annotated[bool, Opt()] = False,
    as_json: JsonOpt = False,
) -> None:
    """Change some fields of an account; the whole account is validated again."""
    from fluenzr.cli.passwords import read_password  # lazy: see cmd_add
    from fluenzr.services.accounts import update_account

    with handled(as_json=as_json):
        given: dict[str, Any] = {
            "email": email,
            "display_name": name,
            "smtp_host": smtp_host,
            "smtp_port": smtp_port,
            "smtp_security": smtp_security,
            "username": username,
            "imap_host": imap_host,
            "imap_port": imap_port,
            "imap_security": imap_security,
            "imap_username": imap_username,
            "smtp_ca_pem": _pem_option(smtp_ca_file, field="smtp_ca_file"),
            "imap_ca_pem": _pem_option(imap_ca_file, field="imap_ca_file"),
            "smtp_auth": auth,
            "pin_sha256": pin_sha256,
            "daily_limit": daily_limit,
            "hourly_limit": hourly_limit,
            "min_interval": min_interval,
            "max_interval": max_interval,
            "timezone": timezone,
        }
        changes = {key: value for key, value in given.items() if value is not None}
        secret = read_password(from_stdin=password_stdin, env_var=password_env, prompt=False)
        if secret is not None:
            changes["password"] = secret
        imap_secret = read_password(
            from_stdin=False, env_var=imap_password_env, field="imap_password", prompt=False
        )
        if imap_secret is not None:
            changes["imap_password"] = imap_secret
        if force:
            changes["force"] = True
        view = update_account(
            STATE.app(), workspace_id=STATE.workspace_id(), account_id=account_id, changes=changes
        )
        _show(view, as_json=as_json)


def cmd_remove(account_id: IdArg, as_json: JsonOpt = False) -> None:
    """Remove an account and its sealed credentials."""
    from fluenzr.i18n import translate  # lazy: see cmd_add
    from fluenzr.services.accounts import remove_account

    with handled(as_json=as_json):
        remove_account(STATE.app(), workspace_id=STATE.workspace_id(), account_id=account_id)
        if as_json:
            print_json({"ok": True, "id": account_id})
        else:
            console().print(translate("accounts.removed", id=account_id))
