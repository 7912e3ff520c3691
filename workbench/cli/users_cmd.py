"""``users add|list|set-password|set-role|deactivate|activate``."""

from __future__ import annotations

import os

import typer

from workbench.cli.app import app, database, fail
from workbench.store import users as user_store
from workbench.store.migrate import upgrade
from workbench.store.schema import ROLES

users_app = typer.Typer(help="Manage accounts (annotators and leads).", no_args_is_help=True)
app.add_typer(users_app, name="users")

PASSWORD_ENV = "WORKBENCH_PASSWORD"


def _read_password() -> str:
    """From WORKBENCH_PASSWORD if set, else prompted twice; never echoed."""
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    name: str = typer.Argument(..., help="Username (letters, digits and . _ @ -)."),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
) -> None:
    """Create an account. The password comes from WORKBENCH_PASSWORD, else it is prompted for."""
    db = database()
    upgrade(db)
    password = _read_password()
    try:
        with db.write() as session:
            user_store.add_user(session, name, password, role)
    except user_store.UserError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"added {role} {name}")


@users_app.command("list")
def list_() -> None:
    """List accounts with their role and state."""
    db = database()
    upgrade(db)
    with db.read() as session:
        rows = user_store.list_users(session)
        typer.echo(f"{'username':<24} {'role':<10} {'active':<7} last sign-in")
        for user in rows:
            last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"
            typer.echo(f"{user.username:<24} {user.role:<10} {'yes' if user.active else 'no':<7} {last}")


def _change(name: str, change) -> None:
    db = database()
    upgrade(db)
    try:
        with db.write() as session:
            user = user_store.get_user(session, name)
            if user is None:
                raise user_store.UserError(f"no user named {name!r}")
            change(session, user)
    except user_store.UserError as exc:
        raise fail(str(exc)) from None


@users_app.command("set-password")
def set_password(
    name: str,
    temporary: bool = typer.Option(False, help="Ask the user to choose a new one at sign-in."),
) -> None:
    """Reset a password (from WORKBENCH_PASSWORD, else prompted)."""
    password = _read_password()
    _change(name, lambda s, u: user_store.set_password(s, u, password, must_change=temporary))
    typer.echo(f"password of {name} changed")


@users_app.command("set-role")
def set_role(name: str, role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}.")) -> None:
    """Change a user's role; it takes effect on their next page load."""
    _change(name, lambda s, u: user_store.set_role(s, u, role))
    typer.echo(f"{name} is now {role}")


@users_app.command("deactivate")
def deactivate(name: str) -> None:
    """Block an account from signing in (its labels are kept)."""
    _change(name, lambda s, u: user_store.set_active(s, u, False))
    typer.echo(f"{name} deactivated")


@users_app.command("activate")
def activate(name: str) -> None:
    """Allow a deactivated account to sign in again."""
    _change(name, lambda s, u: user_store.set_active(s, u, True))
    typer.echo(f"{name} activated")
