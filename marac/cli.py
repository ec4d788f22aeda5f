"""The `marac` command: serve, worker, migrate, check, demo, user add|reset, token create, import referrals,
audit verify, keys, retention run, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from marac import clock, db, logs, settings
from marac.errors import DomainError, RuleViolation
from marac.settings import SettingsError
from marac.wording import count, plural


def _run(coro_factory: Callable[[], Awaitable[int]]) -> int:
    async def main() -> int:
        await db.init()
        try:
            return await coro_factory()
        finally:
            await db.close()

    return asyncio.run(main())


def serve_options(host: str, port: int, workers: int = 1) -> dict[str, Any]:
    """uvicorn's settings for `marac serve` (tests start uvicorn with the same ones)."""
    trusted = settings.get().trusted_proxies
    return {
        "host": host,
        "port": port,
        "workers": workers,
        # uvloop + httptools: plain asyncio/h11 costs a large part of throughput and latency.
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        # X-Forwarded-For and -Proto only from MARAC_TRUSTED_PROXIES: from anyone else they are
        # ignored, so a client cannot pick the address its sign-in failures count against.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": list(trusted),
        "server_header": False,  # no "Server: uvicorn": what runs here is nobody else's business
        "log_config": logs.config(),  # no log line carries an exception's message
    }


def cmd_serve(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    import uvicorn

    made = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # set but empty, prometheus-client would write to the cwd
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # prometheus-client's multiprocess mode: each process writes its histograms to files
        # here and /metrics, whichever process answers, adds them all up (marac/metrics.py).
        made = tempfile.mkdtemp(prefix="marac-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    try:
        uvicorn.run("marac.web.app:create_app", factory=True, **serve_options(args.host, args.port, args.workers))
    finally:
        if made:
            shutil.rmtree(made, ignore_errors=True)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from marac import check

    text, code = check.report(asyncio.run(check.run()))
    print(text)
    return code


def cmd_worker(args: argparse.Namespace) -> int:
    from marac.jobs import worker

    if not settings.get().redis_url:
        print("marac worker needs MARAC_REDIS_URL; without it jobs run inside the web process.", file=sys.stderr)
        return 2
    if args.metrics_port:
        from prometheus_client import start_http_server

        # This worker's job and render histograms, for Prometheus on the private network only.
        start_http_server(args.metrics_port, addr=args.metrics_host)
    return worker.run()


def cmd_migrate(args: argparse.Namespace) -> int:
    applied = asyncio.run(db.migrate())
    print("Applied: " + ", ".join(applied) if applied else "The database schema is up to date.")
    return 0


def _port_taken(host: str, port: int) -> bool:
    """Whether `marac serve` would fail to listen on host:port (uvicorn binds the same way)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False  # uvicorn will say what is wrong with the host
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return True
    return False


def _remove_demo_data() -> str | None:
    """Remove the demo's SQLite database and document store; an error message if it cannot."""
    from pathlib import Path

    from tortoise.backends.base.config_generator import expand_db_url

    current = settings.get()
    if not current.is_sqlite:
        return "--reset removes an SQLite database only; drop and recreate the PostgreSQL database yourself."
    file_path = expand_db_url(current.database_url)["credentials"]["file_path"]
    if file_path != ":memory:":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(file_path + suffix).unlink(missing_ok=True)
    # The store keeps its documents flat, so only files directly in it are removed: a store
    # pointed at the wrong folder by mistake loses no subfolder.
    if current.document_store.is_dir():
        for path in current.document_store.iterdir():
            if path.is_file() and not path.is_symlink():
                path.unlink()
    print(f"Removed the demo database ({file_path}) and documents ({current.document_store}).")
    return None


def cmd_demo(args: argparse.Namespace) -> int:
    import os
    from dataclasses import replace

    from marac import demo

    if not settings.get().demo:
        print("marac demo runs only with MARAC_ENV=demo (demo accounts skip the second factor).", file=sys.stderr)
        return 2
    # Checked before anything is loaded or printed: sign-in details for a server that then
    # fails to start would send people to whatever already answers on that port.
    if not args.no_serve and _port_taken(args.host, args.port):
        print(
            f"Port {args.port} on {args.host} is already in use (another marac demo, or another program).\n"
            f"Stop it, or choose another port: scripts/demo --port {args.port + 1}",
            file=sys.stderr,
        )
        return 1
    if "MARAC_BASE_URL" not in os.environ:
        # The address printed below, used in links and the origin check, is the one served.
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        base_url = f"http://{'[' + host + ']' if ':' in host else host}:{args.port}"
        os.environ["MARAC_BASE_URL"] = base_url
        settings.override(replace(settings.get(), base_url=base_url))
    if args.reset:
        problem = _remove_demo_data()
        if problem:
            print(problem, file=sys.stderr)
            return 2
    asyncio.run(db.migrate())

    async def seed() -> int:
        accounts = await demo.load()
        base = settings.get().base_url
        print(f"\nDemo data loaded — not for real cases. Sign in at {base}/login with:\n")
        print(f"  {'role':<12} {'e-mail':<32} {'password':<24} agency")
        for account in accounts:
            print(f"  {account.role:<12} {account.email:<32} {account.password:<24} {account.agency}")
        print()
        return 0

    _run(seed)
    if args.no_serve:
        return 0
    return cmd_serve(argparse.Namespace(host=args.host, port=args.port, workers=1))


def cmd_user_add(args: argparse.Namespace) -> int:
    from marac.agencies import auth, service

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if password is not None:  # refused before anything is written (the agency included)
        auth.check_password_rules(password, (args.email, args.name))

    # SLUG, or SLUG:ROLE for a role in that conference alone (chair of one, a member in another).
    given = [item.partition(":") for item in args.conference or []]

    async def add() -> int:
        agency = await service.agency_named(args.agency)
        created = await service.add_user(
            None,
            email=args.email,
            name=args.name,
            agency_id=agency.id,
            role=args.role,
            conference_slugs=[slug for slug, _, _ in given],
            conference_roles={slug: role for slug, _, role in given if role},
            password=password,
        )
        print(f"Added user {created.user.id}")
        if created.setup_token:
            print(f"Set-up link (valid 72 hours, shown once): {service.setup_url(created.setup_token)}")
        return 0

    return _run(add)


def cmd_user_reset(args: argparse.Namespace) -> int:
    from marac.agencies import auth, service
    from marac.agencies.models import User

    async def reset() -> int:
        user = await User.get_or_none(email=auth.normalise_email(args.email), active=True)
        if user is None:
            print("No active user has that e-mail address.", file=sys.stderr)
            return 1
        # The operator hands the link over; an administrator's reset e-mails it to the user instead.
        done = await service.reset_sign_in(None, user)
        print(f"Sign-in reset for user {user.id}: password, second factor and sessions cleared.")
        print(f"Set-up link (valid 72 hours, shown once): {service.setup_url(done.setup_token or '')}")
        return 0

    return _run(reset)


def cmd_token_create(args: argparse.Namespace) -> int:
    from marac.agencies import auth
    from marac.agencies.models import User
    from marac.audit.service import record

    async def create() -> int:
        user = await User.get_or_none(email=auth.normalise_email(args.email), active=True)
        if user is None:
            print("No active user has that e-mail address.", file=sys.stderr)
            return 1
        token, raw = await auth.create_token(user, args.label, args.expires_days)
        await record(
            "token.create", user_id=user.id, agency_id=user.agency_id, object_type="api_token", object_id=token.id
        )
        print(raw)
        return 0

    return _run(create)


def cmd_import_referrals(args: argparse.Namespace) -> int:
    from pathlib import Path

    from marac.agencies import auth
    from marac.agencies.access import viewer_for
    from marac.agencies.models import User
    from marac.referrals.imports import import_file, problems

    path = Path(args.file)
    if not path.is_file():
        print(f"marac: no file {path}", file=sys.stderr)
        return 2

    async def run() -> int:
        user = await User.get_or_none(email=auth.normalise_email(args.as_email), active=True)
        if user is None:
            print("No active user has that e-mail address.", file=sys.stderr)
            return 1
        try:
            created = await import_file(await viewer_for(user), path.name, path.read_bytes(), clock.today())
        except RuleViolation as exc:
            print(f"marac: {exc.message}", file=sys.stderr)
            for problem in problems(exc):
                print(f"  {problem}", file=sys.stderr)
            return 1
        except DomainError as exc:
            print(f"marac: {exc.message}", file=sys.stderr)
            return 1
        print(f"Imported {count(len(created), 'referral')}.")
        return 0

    return _run(run)


def cmd_import_history(args: argparse.Namespace) -> int:
    from pathlib import Path

    from marac.referrals import history

    path = Path(args.file)
    if not path.is_file():
        print(f"marac: no file {path}", file=sys.stderr)
        return 2

    async def run() -> int:
        conference = await history.conference_for(None, args.conference)
        try:
            upload = await history.start(None, conference, path.read_bytes())
        except RuleViolation as exc:
            print(f"marac: {exc.message}", file=sys.stderr)
            for problem in history.problems(exc):
                print(f"  {problem}", file=sys.stderr)
            return 1
        upload = await history.run(upload.id)
        if upload.status != "done":
            print(f"marac: {upload.message}", file=sys.stderr)
            for problem in upload.problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        skipped = f"; {count(upload.skipped, 'row')} named cases already loaded" if upload.skipped else ""
        print(f"Imported {count(upload.added, 'earlier case')} into {conference.slug}{skipped}.")
        return 0

    return _run(run)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from marac.audit.service import verify

    async def check() -> int:
        result = await verify()
        if result.ok:
            print(f"Audit chain intact: {count(result.checked, 'event')} checked.")
            if result.waiting:  # recorded during the walk: chained by the next audited write, checked next time
                waits = plural(result.waiting, "waits", "wait")
                print(f"{count(result.waiting, 'event')} recorded meanwhile {waits} to be chained.")
            return 0
        intact = f"{count(result.checked, 'event')} before it {plural(result.checked, 'is', 'are')} intact"
        print(f"Audit chain broken at event {result.first_bad_seq} ({intact}).")
        if result.missing_key_version is not None:
            print(f"That event names key version {result.missing_key_version}, which is not in the key list.")
        return 1

    return _run(check)


def cmd_keys_generate(args: argparse.Namespace) -> int:
    import base64
    import secrets

    version = max(settings.get().data_keys) + 1
    # Printed, never stored: the operator adds the line to the key file (or MARAC_DATA_KEYS).
    print(f"{version}:{base64.b64encode(secrets.token_bytes(32)).decode()}")
    return 0


def cmd_keys_legacy(args: argparse.Namespace) -> int:
    import base64

    # Entry 0 of the key list: what MARAC_SECRET_KEY signed before key versions (audit events,
    # person-index keys, documents) still checks after the secret key is changed. Printed, never stored.
    print(f"0:{base64.b64encode(settings.get().legacy_secret or settings.get().secret_key.encode()).decode()}")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from tortoise import Tortoise, connections

    from marac.audit.models import AuditEvent
    from marac.audit.service import record
    from marac.documents import store
    from marac.referrals import locations, people
    from marac.sealed import model_columns, reseal

    async def rotate() -> int:
        version, _ = settings.get().current_data_key
        models = list(Tortoise.apps[db.APP].values())
        changed = await reseal(connections.get("default"), model_columns(models))
        rekeyed = await people.rekey()
        relocated = await locations.rekey()
        files = await store.reseal_files()
        await record("keys.rotate", object_type="data_key", object_id=str(version))
        print(f"Re-encrypted {count(changed, 'value')} under key version {version}.")
        print(f"Recomputed the person-index keys of {rekeyed} people under key version {version}.")
        print(f"Recomputed the location keys of {count(relocated, 'referral')} under key version {version}.")
        print(
            f"Re-encrypted {files['rewritten']} stored documents under key version {version}"
            + (f"; {files['unreadable']} do not open with any key in the list." if files["unreadable"] else ".")
        )
        # Audit events are never rewritten: each is checked with the key version that signed it.
        signed = await (
            AuditEvent.all().group_by("key_version").order_by("key_version").values_list("key_version", flat=True)
        )
        print(
            f"Audit events are signed with key versions {', '.join(map(str, signed))}: "
            "keep these in the key list for `marac audit verify`"
            + (" (0: MARAC_SECRET_KEY, or the entry `marac keys legacy` prints)." if 0 in signed else ".")
        )
        return 0

    return _run(rotate)


def cmd_retention_run(args: argparse.Namespace) -> int:
    from marac.governance import retention

    async def go() -> int:
        outcomes = await retention.run(clock.today(), dry_run=args.dry_run, slug=args.conference)
        if args.conference and not outcomes:
            print(f"marac: no conference {args.conference}", file=sys.stderr)
            return 1
        verb = "would" if args.dry_run else "did"
        for o in outcomes:
            # Counts only: the command's output may end up in a log.
            print(
                f"{o.slug}: {verb} list {count(o.listed, 'case')}, withdraw {o.withdrawn}, "
                f"anonymise {count(o.anonymised_cases, 'case')} ({count(o.anonymised_referrals, 'referral')}), "
                f"delete {count(o.documents_deleted, 'document')}"
                + (f"; {o.held} held by a legal hold" if o.held else "")
                + (f"; delete {count(o.drafts_deleted, 'expired referral draft')}" if o.drafts_deleted else "")
            )
        if args.dry_run:
            print("Dry run: nothing was changed. Each conference's cases are listed at /conferences/SLUG/retention.")
        return 0

    return _run(go)


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from marac.governance import backup

    async def go() -> int:
        manifest = await backup.backup(Path(args.dir))
        # Counts only: the command's output may end up in a log.
        rows = count(sum(manifest["tables"].values()), "row")
        tables, documents = count(len(manifest["tables"]), "table"), count(manifest["document_count"], "document")
        print(
            f"Backed up the {manifest['database']} database (schema {manifest['schema_version']}, {rows} in {tables}, "
            f"audit chain to event {(manifest['audit_head'] or {}).get('seq', 0)}) and {documents} into {args.dir}."
        )
        print("The secret key and the data keys are not in it: keep them apart, a restore needs the same ones.")
        return 0

    return _run(go)


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from marac.governance import backup

    manifest = asyncio.run(backup.restore(Path(args.dir)))
    rows = count(sum(manifest["tables"].values()), "row")
    tables, documents = count(len(manifest["tables"]), "table"), count(manifest["document_count"], "document")
    print(
        f"Restored the backup of {manifest['created_at']}: {rows} in {tables} and {documents}, each checked against "
        f"the manifest; the audit chain ends on the manifest's event {(manifest['audit_head'] or {}).get('seq', 0)}."
    )
    if manifest["schema_version"] != backup.latest_migration():
        print("The backup's schema is older than this version's: run `marac migrate` before starting the service.")
    print("Run `marac audit verify` to check the whole audit chain.")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="marac", description="Multi-Agency Risk Assessment Conference coordination service."
    )
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="Run the web service.")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    # Accepted for old command lines; MARAC_TRUSTED_PROXIES now says whose X-Forwarded-* to believe.
    serve.add_argument("--proxy-headers", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(handler=cmd_serve)

    worker = sub.add_parser("worker", help="Run a background job worker (needs MARAC_REDIS_URL).")
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="Serve this worker's job and render metrics on this port (0: not at all).",
    )
    worker.add_argument("--metrics-host", default="127.0.0.1", help="Address for --metrics-port.")
    worker.set_defaults(handler=cmd_worker)

    check = sub.add_parser(
        "check",
        help="Check this deployment's settings, database, Redis, SMTP, document store, "
        "keys and fonts; say what is wrong; exit 1 if anything is.",
    )
    check.set_defaults(handler=cmd_check)

    migrate = sub.add_parser("migrate", help="Bring the database schema up to date (safe to repeat).")
    migrate.set_defaults(handler=cmd_migrate)

    demo = sub.add_parser("demo", help="Load demo data, print demo sign-in details and serve (MARAC_ENV=demo).")
    demo.add_argument("--no-serve", action="store_true", help="Load the data and stop.")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument(
        "--reset",
        action="store_true",
        help="Remove the demo's SQLite database and document store first, then load afresh.",
    )
    demo.set_defaults(handler=cmd_demo)

    user = sub.add_parser("user", help="Manage users.").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="Add a user (prints a set-up link unless --password-stdin).")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--agency", required=True, help="Agency name; created with kind 'other' if new.")
    add.add_argument("--role", required=True, choices=["admin", "coordinator", "chair", "member", "auditor"])
    add.add_argument(
        "--conference",
        action="append",
        metavar="SLUG[:ROLE]",
        help="Repeat for each conference; :ROLE (coordinator, chair, deputy_chair, member) for a role there alone.",
    )
    add.add_argument("--password-stdin", action="store_true", help="Read the password from the first line of stdin.")
    add.set_defaults(handler=cmd_user_add)
    reset = user.add_parser("reset", help="Clear a user's password and second factor; prints a new set-up link.")
    reset.add_argument("--email", required=True)
    reset.set_defaults(handler=cmd_user_reset)

    token = sub.add_parser("token", help="Manage API tokens.").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="Create a bearer token for a user; prints it once.")
    create.add_argument("--email", required=True)
    create.add_argument("--label", default="command line")
    create.add_argument(
        "--expires-days",
        metavar="DAYS",
        default=None,
        help="Days until the token stops working (1 to 366; default 90).",
    )
    create.set_defaults(handler=cmd_token_create)

    imports = sub.add_parser("import", help="Bulk imports.").add_subparsers(dest="import_command", required=True)
    referrals = imports.add_parser("referrals", help="Import referrals from a CSV or JSON file; all rows or none.")
    referrals.add_argument("file", metavar="FILE")
    referrals.add_argument(
        "--as",
        dest="as_email",
        required=True,
        metavar="EMAIL",
        help="The referring user: their agency becomes the referring agency.",
    )
    referrals.set_defaults(handler=cmd_import_referrals)
    earlier = imports.add_parser(
        "history",
        help="Load earlier cases (CSV: victim_name, victim_date_of_birth, perpetrator_name, "
        "perpetrator_date_of_birth, heard_on) so they count for repeats; all rows or none.",
    )
    earlier.add_argument("file", metavar="FILE")
    earlier.add_argument("--conference", required=True, metavar="SLUG", help="The conference that heard them.")
    earlier.set_defaults(handler=cmd_import_history)

    audit = sub.add_parser("audit", help="The audit trail.").add_subparsers(dest="audit_command", required=True)
    verify = audit.add_parser("verify", help="Check the hash chain; exit 1 and name the first bad event if broken.")
    verify.set_defaults(handler=cmd_audit_verify)

    keys = sub.add_parser(
        "keys", help="Data keys: sealed fields, documents, audit chain, person index."
    ).add_subparsers(dest="keys_command", required=True)
    generate = keys.add_parser("generate", help="Print a new key line (VERSION:BASE64KEY) for the key file.")
    generate.set_defaults(handler=cmd_keys_generate)
    rotate = keys.add_parser(
        "rotate",
        help="Re-encrypt every sealed value and stored document and recompute the "
        "person index under the newest key (safe to repeat).",
    )
    rotate.set_defaults(handler=cmd_keys_rotate)
    legacy = keys.add_parser(
        "legacy",
        help="Print the key line 0 that keeps audit events signed before key versions "
        "verifiable once MARAC_SECRET_KEY changes.",
    )
    legacy.set_defaults(handler=cmd_keys_legacy)

    retention = sub.add_parser("retention", help="Retention of case records.").add_subparsers(
        dest="retention_command", required=True
    )
    run = retention.add_parser("run", help="List cases past retention; anonymise those listed a week or more ago.")
    run.add_argument("--dry-run", action="store_true", help="Say what a run would do today; change nothing.")
    run.add_argument("--conference", metavar="SLUG", help="Only this conference.")
    run.set_defaults(handler=cmd_retention_run)

    backup = sub.add_parser("backup", help="Back up the database and document store, with a manifest, into DIR.")
    backup.add_argument("dir", metavar="DIR", help="A new or empty directory.")
    backup.set_defaults(handler=cmd_backup)
    restore = sub.add_parser("restore", help="Restore a backup from DIR into an empty database and document store.")
    restore.add_argument("dir", metavar="DIR", help="A directory made by `marac backup`.")
    restore.set_defaults(handler=cmd_restore)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.handler is not cmd_check:  # which reports bad settings in its own words
            settings.get()
        return args.handler(args)
    except SettingsError as exc:
        print(f"marac: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        print(f"marac: {exc.message}" + (f" ({details})" if details else ""), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
