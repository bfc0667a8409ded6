"""`neurorehab serve` and `neurorehab db ...`: the clinic programme's server and database."""

from __future__ import annotations

import getpass
import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from neurorehab.cli.common import UserError, _plain_errors, err_console, out_console

db_app = typer.Typer(
    help="The clinic database: create or migrate it, add accounts.\n\n"
    "Examples:\n\n"
    "  neurorehab db upgrade\n\n"
    "  neurorehab db upgrade --db postgresql://clinic@db.example/neurorehab\n\n"
    "  neurorehab db create-user dr.lee --role clinician",
    no_args_is_help=True,
)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="database URL (default: NEUROREHAB_CLINIC_DB, else SQLite in the data folder)"),
]


def _url(db: str | None) -> str:
    from neurorehab.io.catalog import safe_url
    from neurorehab.web.db import default_url

    url = db or default_url()
    if not (url.startswith("sqlite") or url.startswith("postgres")):
        raise UserError(f"--db {safe_url(url)}: use a sqlite:/// or postgresql:// URL")
    return url


def _upgrade(url: str) -> None:
    from neurorehab.io.catalog import safe_url, scrub
    from neurorehab.web.db import upgrade

    try:
        upgrade(url)
    except Exception as err:
        raise UserError(
            f"cannot migrate the database {safe_url(url)}: {scrub(str(err), url)[:300]}"
        ) from None


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create the clinic database, or migrate it to this version's schema (Alembic).

    Example: neurorehab db upgrade --db sqlite:///clinic.sqlite
    """
    from neurorehab.io.catalog import safe_url
    from neurorehab.web.db import current

    with _plain_errors():
        url = _url(db)
        _upgrade(url)
        out_console.print(f"{safe_url(url)} is at revision {current(url)}")


@db_app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option(help="clinician, patient or researcher")] = "clinician",
    db: DbOption = None,
) -> None:
    """Add an account; the password is asked for (never on the command line).

    Example: neurorehab db create-user dr.lee --role clinician
    """
    from sqlalchemy import select

    from neurorehab.web import security
    from neurorehab.web.db import ROLES, User, make_engine, sessions

    with _plain_errors():
        if role not in ROLES:
            raise UserError(f"--role {role!r}: use one of {', '.join(ROLES)}")
        if not 1 <= len(username) <= 64:
            raise UserError("the username needs 1 to 64 characters")
        url = _url(db)
        _upgrade(url)
        password = getpass.getpass(f"password for {username}: ")
        problem = security.password_problem(password, username)
        if problem:
            raise UserError(f"password: {problem}")
        if getpass.getpass("again: ") != password:
            raise UserError("the two passwords differ")
        engine = make_engine(url)
        with sessions(engine)() as s:
            if s.scalar(select(User).where(User.username == username)) is not None:
                raise UserError(f"{username!r} exists already")
            s.add(User(username=username, password_hash=security.hash_password(password), role=role))
            s.commit()
        engine.dispose()
        out_console.print(f"added {role} {username}")


def serve(
    host: Annotated[str, typer.Option(help="address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    db: DbOption = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="add a demo clinic (a clinician, three patients)")
    ] = False,
    runs: Annotated[Path, typer.Option(help="folder for the scenario explorer's runs")] = Path("runs"),
    catalog: Annotated[str | None, typer.Option(help="run catalog URL")] = None,
    draws: Annotated[int, typer.Option(help="posterior draws per forecast")] = 64,
    secure_cookies: Annotated[
        bool, typer.Option(help="mark cookies Secure (when served behind HTTPS)")
    ] = False,
) -> None:
    """Run the clinic programme: clinicians prescribe, patients log, the model forecasts.

    Listens on 127.0.0.1 unless told otherwise; the database is migrated on start.

    Examples:

      neurorehab serve --demo

      neurorehab serve --db postgresql://clinic@db.example/neurorehab --host 0.0.0.0 --secure-cookies
    """
    import uvicorn

    from neurorehab.web.app import create_app
    from neurorehab.web.db import make_engine, sessions
    from neurorehab.web.demo import seed
    from neurorehab.web.deps import Settings

    with _plain_errors():
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise UserError(
                f"--host {host!r} is not an IP address (127.0.0.1 keeps it on this machine)"
            ) from None
        if not 1 <= port <= 65535:
            raise UserError(f"--port {port}: use 1 to 65535")
        if draws < 8 or draws > 1000:
            raise UserError(f"--draws {draws}: use 8 to 1000")
        url = _url(db)
        _upgrade(url)
        settings = Settings(
            url=url, runs_dir=runs, forecast_draws=draws, secure_cookies=secure_cookies, catalog=catalog
        )
        if demo:
            engine = make_engine(url)
            with sessions(engine)() as s:
                creds = seed(s, settings.today())
            engine.dispose()
            if creds:
                err_console.print("[bold]demo clinic added[/]; log in as (username / password):")
                for name, password in creds.items():
                    err_console.print(f"  {name} / {password}", markup=False)
            else:
                err_console.print(
                    "the demo clinic exists already (its passwords were printed when it was added)"
                )
        if not address.is_loopback:
            err_console.print(
                f"[yellow]warning:[/] listening on {host}: other machines can reach this server; "
                "serve it behind HTTPS and use --secure-cookies"
            )
        err_console.print(f"open http://{host}:{port}/ (Ctrl+C stops)")
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
