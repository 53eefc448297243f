"""The `openim` command: one executable, every module, chosen by subcommand and flags."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
import yaml

from openim.config import MODULES, ConfigError, masked_dict, new_secret
from openim.config_load import LoadedConfig, load_config
from openim.config_review import Review, review_config

EXIT_CONFIG = 2

CONFIG_OPTION = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file. Default: $OPENIM_CONFIG, else /data/openim/config.yaml, else ./config.yaml, "
    "else built-in defaults. OPENIM_<SECTION>__<KEY> variables override any key.",
)


def _load(config_path: str | None) -> LoadedConfig:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        click.echo(f"config error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)


def _review(loaded: LoadedConfig, node_id: str | None = None) -> Review:
    """The config review (openim.config_review.review_config): its refusals end the command with exit 2, one line
    each, the same text whichever command refuses (config check, serve, supervise)."""
    review = review_config(loaded, node_id=node_id)
    for refusal in review.refusals:
        click.echo(f"config error: {refusal}", err=True)
    if review.refusals:
        sys.exit(EXIT_CONFIG)
    return review


def parse_modules(value: str) -> tuple[str, ...]:
    """``all`` or a comma list of module names; an unknown name is a usage error (exit 2)."""
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise click.BadParameter("no module given")
    if names == ["all"]:
        return MODULES
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        raise click.BadParameter(
            f"unknown module {', '.join(unknown)}; choose 'all' or a comma list of: {', '.join(MODULES)}"
        )
    return tuple(n for n in MODULES if n in names)  # canonical start order


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """openim: a self-hosted instant-messaging server speaking the OpenIM Server v3 protocol.

    REST API on :10002, WebSocket gateway on :10001. With no config it runs every module in one process
    on an embedded SQLite store under ./data.
    """


@cli.command()
@CONFIG_OPTION
@click.option(
    "-m",
    "--module",
    "module_list",
    default="all",
    show_default=True,
    help=f"Modules to run in this process: 'all' or a comma list of {', '.join(MODULES)}.",
)
def serve(config_path: str | None, module_list: str) -> None:
    """Run the server (all modules by default) until SIGTERM/SIGINT."""
    try:
        modules = parse_modules(module_list)
    except click.BadParameter as exc:
        click.echo(f"error: --module: {exc.message}", err=True)
        sys.exit(EXIT_CONFIG)
    loaded = _load(config_path)
    from openim.node import default_node_id

    review = _review(loaded, loaded.config.node_id or None)  # unset: refused as `config check` refuses it
    node_id = loaded.config.node_id or default_node_id(loaded.config, modules)
    from openim.app import serve_forever

    sys.exit(serve_forever(loaded, modules, node_id=node_id, warnings=review.warnings))


@cli.group()
def config() -> None:
    """Validate or show the effective configuration."""


@config.command("check")
@CONFIG_OPTION
def config_check(config_path: str | None) -> None:
    """Validate the config as serve and supervise do; exit 2 with one line (file or variable, key, reason) per
    problem, the same lines they would refuse with. Warnings go to stderr and leave the exit code 0."""
    loaded = _load(config_path)
    review = _review(loaded)
    click.echo(f"ok: {loaded.source}" + (f" (overrides: {', '.join(loaded.overrides)})" if loaded.overrides else ""))
    for warning in review.warnings:
        click.echo(f"warning: {warning}", err=True)


@config.command("print")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="JSON instead of YAML.")
def config_print(config_path: str | None, as_json: bool) -> None:
    """Print the effective config (file + environment + defaults), secrets masked."""
    loaded = _load(config_path)
    data = masked_dict(loaded.config)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(f"# source: {loaded.source}")
        click.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


# The container image's user and group (packaging/Dockerfile): a config mounted into the image must be readable
# by them, which a root-owned 0600 file is not.
CONTAINER_UID_GID = 10001
CONTAINER_DATA_DIR = "/data/openim/data"


@cli.command()
@click.option(
    "--data-dir",
    default=None,
    help="Where the embedded store lives; written as given, so a relative path is from the config file's folder. "
    "[default: ./data; with --container /data/openim/data]",
)
@click.option(
    "-c", "--config", "config_path", default="config.yaml", show_default=True, help="The file to write."
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option(
    "--container",
    is_flag=True,
    help=f"For the container image: group {CONTAINER_UID_GID} (the image's user) may read it (mode 0640, needs root "
    "or membership of that group), the data dir is the image's and is not created here.",
)
def init(data_dir: str | None, config_path: str, force: bool, container: bool) -> None:
    """Write a config.yaml with a fresh random secret and create the data directory."""
    target = Path(config_path)
    if target.exists() and not force:
        click.echo(f"error: {target} exists; use --force to overwrite", err=True)
        sys.exit(EXIT_CONFIG)
    if data_dir is None:
        data_dir = CONTAINER_DATA_DIR if container else "./data"
    data_path = Path(data_dir)
    if not container:
        # The same place the config will mean (openim.config: relative paths are from the file's folder).
        data_path = Path(os.path.normpath(Path(os.path.abspath(target.expanduser())).parent / data_path.expanduser()))
        data_path.mkdir(parents=True, exist_ok=True)
    from openim.config_template import render_config

    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_config(secret=new_secret(), data_dir=data_dir), encoding="utf-8")
    os.chmod(target, 0o600)
    if container:
        try:
            os.chown(target, -1, CONTAINER_UID_GID)
        except OSError as exc:
            target.unlink()
            click.echo(
                f"error: cannot give {target} to group {CONTAINER_UID_GID} ({exc.strerror or exc}); "
                "run this as root (sudo), or as a member of that group",
                err=True,
            )
            sys.exit(EXIT_CONFIG)
        os.chmod(target, 0o640)
    click.echo(
        f"wrote {target} (secret generated, data dir {data_path}"
        + (f", readable by group {CONTAINER_UID_GID} for the container image)" if container else ")")
    )


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args: tuple[str, ...]) -> None:
    """Load-test a running server: openim bench direct|group|connect --help."""
    from openim.bench.cli import main as bench_main

    sys.exit(bench_main(args))


@cli.command()
def version() -> None:
    """Print version, git commit and build date."""
    from openim.version import build_info, compiled_modules

    info = build_info()
    compiled = len(compiled_modules())
    click.echo(
        f"openim {info.version} (commit {info.commit}, built {info.build_date}, "
        f"{f'{compiled} modules compiled' if compiled else 'pure Python'})"
    )


@cli.group()
def cluster() -> None:
    """Inspect a cluster (storage postgres, bus redis)."""


@cluster.command("status")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def cluster_status(config_path: str | None, as_json: bool) -> None:
    """List the nodes: modules, addresses, last heartbeat, connections, partitions owned.

    Exit 0 when the cluster is whole, 1 when something is missing (a listed node down, a partition
    without an owner) or Redis does not answer, 2 on a config problem.
    """
    loaded = _load(config_path)
    if loaded.config.bus.backend != "redis":
        click.echo(f"config error: {loaded.source}: bus.backend: not a cluster (the bus is in-process)", err=True)
        sys.exit(EXIT_CONFIG)
    import trio

    from openim.bus.port import BusUnavailable
    from openim.cluster.status import read_status, render_table

    try:
        status = trio.run(read_status, loaded.config)
    except BusUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps(status.to_dict(), indent=2) if as_json else render_table(status))
    sys.exit(0 if status.ok else 1)


@cli.group(invoke_without_command=True)
@CONFIG_OPTION
@click.pass_context
def supervise(ctx: click.Context, config_path: str | None) -> None:
    """Run openim under the bundled supervisord, with the Filebeat/Metricbeat sidecars where installed.

    The programs are supervisor.d/*.conf; the module set and process count come from the config's supervise
    section. A program that dies is restarted. `openim supervise status|restart|stop` talk to a running one.
    """
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    if ctx.invoked_subcommand is not None:
        return
    from openim.deploy.supervise import SuperviseError, run

    loaded = _load(config_path)
    review = _review(loaded)
    try:
        code = run(loaded, review.warnings)
    except SuperviseError as exc:
        click.echo(f"config error: {loaded.source}: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    sys.exit(code)


def _supervise_ctl(ctx: click.Context, config_path: str | None, command: list[str]) -> None:
    from openim.deploy.supervise import control

    loaded = _load(config_path or ctx.obj.get("config_path"))
    sys.exit(control(loaded, command))


@supervise.command("status")
@CONFIG_OPTION
@click.argument("names", nargs=-1)
@click.pass_context
def supervise_status(ctx: click.Context, config_path: str | None, names: tuple[str, ...]) -> None:
    """State and pid of every program (supervisorctl status); exit 3 when one is not running."""
    _supervise_ctl(ctx, config_path, ["status", *names])


@supervise.command("restart")
@CONFIG_OPTION
@click.argument("names", nargs=-1)
@click.pass_context
def supervise_restart(ctx: click.Context, config_path: str | None, names: tuple[str, ...]) -> None:
    """Restart the named programs ('openim:*' for every openim process), all of them by default."""
    _supervise_ctl(ctx, config_path, ["restart", *(names or ("all",))])


@supervise.command("stop")
@CONFIG_OPTION
@click.argument("names", nargs=-1)
@click.pass_context
def supervise_stop(ctx: click.Context, config_path: str | None, names: tuple[str, ...]) -> None:
    """Stop the named programs; with no name, stop everything and supervisord itself (waits until it is gone)."""
    _supervise_ctl(ctx, config_path, ["stop", *names] if names else ["shutdown"])


@cli.command()
@CONFIG_OPTION
@click.option(
    "-o", "--output", default=None, help="File or directory of the copy. Default: <data_dir>/backups/openim-<time>.db"
)
def backup(config_path: str | None, output: str | None) -> None:
    """Copy the embedded store (SQLite) consistently, while the server runs. PostgreSQL: use pg_dump."""
    from openim.deploy.backup import BackupError
    from openim.deploy.backup import backup as take_backup

    loaded = _load(config_path)
    try:
        info = take_backup(loaded.config, output)
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"backup: {info.path} ({info.size} bytes, schema {info.revision}, {info.messages} messages)")


@cli.command()
@CONFIG_OPTION
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
def restore(config_path: str | None, source: str) -> None:
    """Replace the embedded store with a backup; the server must be stopped. The old file is kept aside."""
    from openim.deploy.backup import BackupError
    from openim.deploy.backup import restore as put_back

    loaded = _load(config_path)
    try:
        info, kept = put_back(loaded.config, Path(source))
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"restored: {loaded.config.sqlite_file} from {source} (schema {info.revision}, {info.messages} messages)"
    )
    if kept is not None:
        click.echo(f"previous database kept as {kept}")

@cli.group()
def webhooks() -> None:
    """After-callbacks that ran out of attempts (dead letters): list them, queue them again."""


@webhooks.command("dead-letters")
@CONFIG_OPTION
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="JSON lines (one dead letter each, with its body).")
def webhooks_dead_letters(config_path: str | None, limit: int, as_json: bool) -> None:
    """List the oldest dead letters: id, callback, operationID, attempts, last error."""
    from openim.deploy.dead_letters import dead_letters

    loaded = _load(config_path)
    try:
        letters = dead_letters(loaded.config, limit)
    except Exception as exc:  # the store or Redis: say what failed, no traceback
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    for e in letters:
        if as_json:
            click.echo(json.dumps({"entryID": e.entry_id, "hook": e.hook, "operationID": e.operation_id,
                                   "attempts": e.attempts, "lastError": e.last_error, "createTime": e.created_at,
                                   "body": json.loads(e.body)}, ensure_ascii=False))  # fmt: skip
        else:
            click.echo(f"{e.entry_id}  {e.hook}  {e.operation_id}  attempts={e.attempts}  {e.last_error}")
    if not as_json:
        click.echo(f"{len(letters)} dead letter{'' if len(letters) == 1 else 's'} shown", err=True)


@webhooks.command("redrive")
@CONFIG_OPTION
@click.option("--all", "every", is_flag=True, help="Every dead letter.")
@click.argument("entry_ids", nargs=-1)
def webhooks_redrive(config_path: str | None, every: bool, entry_ids: tuple[str, ...]) -> None:
    """Queue dead letters again (the ids listed by dead-letters, or --all); their attempts start over."""
    from openim.deploy.dead_letters import redrive

    if every == bool(entry_ids):
        raise click.UsageError("name the dead letters to requeue, or pass --all (not both)")
    loaded = _load(config_path)
    try:
        count = redrive(loaded.config, None if every else entry_ids)
    except Exception as exc:  # the store or Redis: say what failed, no traceback
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    click.echo(f"requeued: {count}")


def main() -> None:
    cli(prog_name="openim")
