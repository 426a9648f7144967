"""Bot layer: the `mlpulse` command line.

mlpulse shell [--demo] [--as WHO]    use mlpulse in the terminal
mlpulse run [--port N]               run the bot on Slack and/or Teams
mlpulse tick [--at ISO] [--dry-run]  run one scheduler tick and exit
mlpulse db upgrade                   create or migrate the database schema
mlpulse models import [FILE]         sync app.yaml into the database
mlpulse models list                  list the registered models
mlpulse teams package [--out FILE]   write the Teams app package (zip) to upload
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import ManualClock, SystemClock
from bot.config import ConfigError, Settings, load_settings
from bot.logs import hold_payload_loggers
from bot.runtime import Runtime
from bot.shell.messenger import ShellMessenger
from bot.shell.render import to_text
from handlers.text import plural
from storage.db import DatabaseNotReady, is_sqlite, normalize_url

DEMO_DATABASE = "mlpulse-demo.db"
SHELL_FILES = Path("mlpulse-files")  # where the shell saves the files messages carry (charts, invites)
NO_CREDENTIALS = """\
mlpulse run: no chat platform is configured, so there is nothing to connect to.

To run on Slack, set SLACK_BOT_TOKEN and either SLACK_APP_TOKEN (Socket Mode, no
public URL needed) or SLACK_SIGNING_SECRET (HTTP mode). To run on Microsoft Teams,
set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (and MICROSOFT_APP_TENANT_ID and
MICROSOFT_APP_TYPE for a single-tenant bot). The README explains where each comes
from. `mlpulse run --teams-emulator` serves Teams without authentication, for local
testing only.

To try mlpulse without a chat account, run:  mlpulse shell --demo"""
NO_DELIVERY = """\
mlpulse tick: no chat platform is configured, so nothing could be delivered, and
nothing was done (a message is only marked sent once Slack or Teams has it).

Set the Slack or Teams secrets as for `mlpulse run`, or run `mlpulse tick --dry-run`
to see what a tick would send. To try mlpulse without a chat account, run:
mlpulse shell --demo"""
SHELL_ON_A_LIVE_DATABASE = """\
mlpulse shell: chat credentials are set, so this database is probably the one the bot
delivers from on {platforms}. The shell would send its queued messages to this
terminal instead, and mark them sent. Use `mlpulse shell --demo` (a separate demo
database), or run the shell without the chat secrets in the environment."""
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def main(argv: list[str] | None = None) -> int:
    """Run the mlpulse command line and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(_log_level(args))
    hold_payload_loggers()
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"mlpulse: configuration error: {exc}", file=sys.stderr)
        return 2
    except DatabaseNotReady as exc:
        print(f"mlpulse: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlpulse", description="Keep ML teams and the business units that use their models in touch.")
    parser.add_argument("--config", type=Path, help="the app.yaml to read (default: $MLPULSE_CONFIG or ./app.yaml)")
    parser.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, help="how much to log (default: WARNING in the shell, INFO otherwise)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more: -v one level down from the default, -vv everything (DEBUG)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    shell = commands.add_parser("shell", help="use mlpulse in the terminal, acting as one person")
    shell.add_argument("--demo", action="store_true", help=f"start from a fresh {DEMO_DATABASE} seeded with 12 weeks of history")
    shell.add_argument("--as", dest="who", help="act as this person (key, email or display name); default: the first lead")
    shell.set_defaults(handler=_shell)

    run = commands.add_parser("run", help="run the bot on the configured chat platforms")
    run.add_argument("--port", type=int, default=3000, help="HTTP port for Slack's HTTP mode, Teams and /healthz (default 3000)")
    run.add_argument("--host", help="address to listen on (default: all; loopback only with --teams-emulator)")
    run.add_argument("--teams-emulator", action="store_true", help="serve Teams at /api/messages with no app id and no authentication (local use only)")
    run.set_defaults(handler=_run)

    tick = commands.add_parser("tick", help="run one scheduler tick and exit")
    tick.add_argument("--at", type=_instant, help="pretend it is this instant (ISO 8601, e.g. 2026-12-01T10:00+01:00)")
    tick.add_argument("--dry-run", action="store_true", help="list what would be sent; change nothing")
    tick.set_defaults(handler=_tick)

    digest = commands.add_parser("digest", help="the weekly digest")
    digest.add_argument("--preview", action="store_true", help="print the digest as it would be posted now and write its chart")
    digest.add_argument("--at", type=_instant, help="the end of the digest's week (ISO 8601; default now)")
    digest.add_argument("--out", help="where to write the chart PNG (default: its own name, in this directory)")
    digest.set_defaults(handler=_digest)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db.add_parser("upgrade", help="create the schema or migrate it to the newest version").set_defaults(handler=_db_upgrade)

    models = commands.add_parser("models", help="the model registry").add_subparsers(dest="models_command", metavar="ACTION", required=True)
    imp = models.add_parser("import", help="sync a portfolio file into the database (insert, update, retire)")
    imp.add_argument("file", type=Path, nargs="?", help="the file to import (default: the configured app.yaml)")
    imp.set_defaults(handler=_models_import)
    models.add_parser("list", help="list the registered models").set_defaults(handler=_models_list)

    teams = commands.add_parser("teams", help="Microsoft Teams").add_subparsers(dest="teams_command", metavar="ACTION", required=True)
    package = teams.add_parser("package", help="write the Teams app package (manifest and icons) as a zip to upload")
    package.add_argument("--out", type=Path, default=Path("mlpulse-teams.zip"), help="where to write it (default: mlpulse-teams.zip)")
    package.add_argument("--version", default="1.0.0", help="the app version Teams shows; raise it for each upload (default 1.0.0)")
    package.add_argument("--website", default="https://github.com/mlpulse/mlpulse", help="your organisation's page about the bot")
    package.set_defaults(handler=_teams_package)
    return parser


def _log_level(args) -> int:
    """Return the root log level the options ask for; the payload loggers stay held whatever it is (see bot.logs)."""
    if args.log_level:
        return getattr(logging, args.log_level)
    default = logging.WARNING if args.command == "shell" else logging.INFO
    return max(logging.DEBUG, default - 10 * args.verbose)


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 instant, e.g. 2026-12-01T10:00+01:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _printing_messenger() -> ShellMessenger:
    """A messenger for commands without a chat platform: it prints what it sends."""

    def show(item, how):
        print(f"→ {item.recipient}:")
        print(to_text(item.view))

    return ShellMessenger(show)


def _shell(args) -> int:
    from bot.shell.repl import LineReader, Shell, resolve_person

    settings = load_settings(args.config)
    if settings.platforms and not args.demo:
        print(SHELL_ON_A_LIVE_DATABASE.format(platforms=" and ".join(p.title() for p in settings.platforms)), file=sys.stderr)
        return 2
    url = settings.database_url
    if args.demo:
        url = f"sqlite+aiosqlite:///./{DEMO_DATABASE}"
        for suffix in ("", "-wal", "-shm"):
            Path(DEMO_DATABASE + suffix).unlink(missing_ok=True)
        _upgrade(url)

    async def session() -> int:
        clock = ManualClock(SystemClock().now())
        runtime = await Runtime.start(settings, ShellMessenger(files_dir=SHELL_FILES), clock, url=url)
        try:
            if args.demo:
                from bot.demo import seed_demo

                count = await seed_demo(runtime.sessions, runtime.policy, clock.now())
                print(f"Demo: {DEMO_DATABASE} seeded from {settings.mlpulse_config} with {count} past check-ins over 12 weeks.")
            try:
                actor = await resolve_person(runtime, args.who)
            except LookupError as exc:
                print(f"mlpulse shell: {exc}", file=sys.stderr)
                return 2
            reader = LineReader()
            reader.listen()
            shell = Shell(runtime, clock, actor, reader, print)
            await shell.run()
            return 0
        finally:
            await runtime.close()

    return asyncio.run(session())


def _run(args) -> int:
    settings = load_settings(args.config)
    if args.teams_emulator:
        settings = settings.model_copy(update={"teams_emulator": True})
    if not settings.platforms:
        print(NO_CREDENTIALS, file=sys.stderr)
        return 2
    from bot.run import run_bot

    # The emulator mode has no authentication: it listens on loopback unless told otherwise.
    host = args.host or ("127.0.0.1" if args.teams_emulator else "0.0.0.0")
    asyncio.run(run_bot(settings, host, args.port))
    return 0


def _tick(args) -> int:
    settings = load_settings(args.config)
    if not settings.platforms and not args.dry_run:
        print(NO_DELIVERY, file=sys.stderr)
        return 2

    async def once() -> int:
        runtime = await Runtime.start(settings, None, SystemClock(), sync=not args.dry_run)
        try:
            moment = args.at or runtime.clock.now()
            if args.dry_run:
                pending = await runtime.preview_tick(moment)
                updates = sum(update for _, _, update in pending)
                print(f"Dry run at {moment.isoformat()}: {plural(len(pending) - updates, 'message')} would be sent, {updates} updated in place.")
                for recipient, view, update in pending:
                    print(f"{'↻' if update else '→'} {recipient}: {view.title or view.text[:70]}")
                return 0
            from bot.run import connect_platforms

            connect_platforms(runtime, settings)
            result = await runtime.tick(moment)
            print(f"Tick at {moment.isoformat()} on {' and '.join(settings.platforms)}: {result.work}; {result.delivery}")
            return 0
        finally:
            await runtime.close()

    return asyncio.run(once())


def _digest(args) -> int:
    if not args.preview:
        print("The running bot posts the digest on its cron (app.yaml digest.cron). Use --preview to see it now.", file=sys.stderr)
        return 2
    settings = load_settings(args.config)

    async def preview() -> int:
        runtime = await Runtime.start(settings, _printing_messenger(), SystemClock(), sync=False)
        try:
            view = await runtime.preview_digest(args.at or runtime.clock.now())
        finally:
            await runtime.close()
        print(to_text(view))
        for attachment in view.attachments:
            path = Path(args.out or attachment.filename)
            path.write_bytes(attachment.content)
            print(f"\n📎 {attachment.title}: written to {path}")
        return 0

    return asyncio.run(preview())


def _upgrade(url: str | None) -> None:
    from storage.migrate import upgrade

    upgrade(url)


def _db_upgrade(args) -> int:
    settings = Settings()
    url = normalize_url(settings.database_url)
    _upgrade(url)
    where = url.split("///", 1)[1] if is_sqlite(url) else "the configured PostgreSQL database"
    print(f"Database {where} is up to date.")
    return 0


def _models_import(args) -> int:
    settings = load_settings(args.file or args.config)

    async def run() -> int:
        runtime = await Runtime.start(settings, _printing_messenger(), SystemClock())
        await runtime.close()
        report = runtime.last_sync
        print(f"Imported {settings.mlpulse_config}: {report.summary()}.")
        for line in report.created + report.updated + report.retired:
            print(f"  {line}")
        return 0

    return asyncio.run(run())


def _models_list(args) -> int:
    from bot.shell.repl import resolve_person
    from handlers.registry import handle_model_list

    settings = load_settings(args.config)

    async def run() -> int:
        runtime = await Runtime.start(settings, _printing_messenger(), SystemClock(), sync=False)
        try:
            try:
                lead = await resolve_person(runtime, None)
            except LookupError:
                print("No models are registered yet. Run: mlpulse models import")
                return 0
            reply = await runtime.act(lead.id, "cli", handle_model_list)
            print(to_text(reply.view))
            return 0
        finally:
            await runtime.close()

    return asyncio.run(run())


def _teams_package(args) -> int:
    from bot.teams.manifest import write_package

    settings = load_settings(args.config)
    if not settings.microsoft_app_id:
        print("mlpulse teams package: set MICROSOFT_APP_ID (the Azure Bot's app id) first; the manifest names the bot by it.", file=sys.stderr)
        return 2
    try:
        path = write_package(args.out, settings.microsoft_app_id, args.version, args.website)
    except ValueError:
        print(
            f"mlpulse teams package: MICROSOFT_APP_ID {settings.microsoft_app_id!r} is not an app id (a GUID such as 00000000-0000-0000-0000-000000000000).",
            file=sys.stderr,
        )
        return 2
    print(f"Wrote {path}. Upload it in Teams: Apps → Manage your apps → Upload an app (or in the Teams admin center).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
