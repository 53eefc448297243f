"""``openim bench direct|group|connect``: the command line of the load generator.

Kept out of openim/cli.py so that the server's start-up never imports the bench (or the other way
round); openim/cli.py forwards ``openim bench ...`` here unparsed. Exit codes: 0 when every check
held (nothing lost, nothing duplicated, every send answered and accepted, every login ok), 1 when a
check failed, 2 when the run could not be carried out (usage, server unreachable, set-up refused).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from openim.bench.sdks import SDKS

__all__ = ["bench", "main"]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_CANNOT_RUN = 2

F = TypeVar("F", bound=Callable[..., Any])


def _target_options(f: F) -> F:
    """Where the server is and how to reach it: the same for every workload."""
    options = [
        click.option("--api", "api_url", default="http://127.0.0.1:10002", show_default=True,
                      help="REST API base URL (set-up, /metrics)."),
        click.option("--ws", "ws_url", default="ws://127.0.0.1:10001", show_default=True,
                      help="WebSocket gateway URL."),
        click.option("--secret", envvar="OPENIM_SECRET", required=True,
                      help="The server's secret (for the admin token); default $OPENIM_SECRET."),
        click.option("--server-pid", type=int, default=None,
                      help="Read the server's RSS and CPU from /proc/PID instead of /metrics."),
        click.option("--duration", type=float, default=10.0, show_default=True,
                      help="Seconds of load (connect: seconds of idling after the logins)."),
        click.option("--procs", type=int, default=0,
                      help="Load processes; default one per CPU this process may run on (see taskset)."),
        click.option("--sdk", type=click.Choice(SDKS), default="js", show_default=True,
                      help="Whose wire format the clients speak (js: JSON envelopes, as the JS SDK; "
                      "go: gzip-compressed gob frames, as openim-sdk-core)."),
        click.option("--verify-every", type=click.IntRange(min=1), default=64, show_default=True,
                      help="Also decode every N-th message in full and compare it with the byte scan "
                      "(a mismatch fails the run); 1 checks every message."),
        click.option("--connect-concurrency", type=int, default=256, show_default=True,
                      help="Logins in flight at once per load process."),
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout."),
        click.option("--progress/--no-progress", default=None,
                      help="Progress bar on stderr; default: when stderr is a terminal."),
        click.option("--seed", type=int, default=0, help="Seed of the peer choice."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _send_options(f: F) -> F:
    options = [
        click.option("--rate", type=float, default=0.0,
                     help="Target msgs/s over all senders; 0 (default) sends as fast as the window allows."),
        click.option("--window", type=int, default=8, show_default=True,
                     help="Messages in flight (sent, not yet acked) per sending client."),
        click.option("--grace", type=float, default=5.0, show_default=True,
                     help="After the load, stop waiting for acks and deliveries once none arrived for this long; "
                     "what is missing then is lost."),
        click.option("--content-size", type=int, default=32, show_default=True, help="Text bytes per message."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def bench() -> None:
    """Drive a running server over the real protocol and report throughput, latency and cost.

    Set-up goes over REST (users, tokens, group); the load goes over the WebSocket gateway from
    several processes. Lost or duplicated messages make the command exit 1.
    """


def _execute(workload: str, users: int, kw: dict[str, Any]) -> None:
    from openim.bench.runner import BenchError, BenchOptions, run_bench

    as_json = kw.pop("as_json")
    progress = kw.pop("progress")
    if progress is None:
        progress = sys.stderr.isatty()
    try:
        opts = BenchOptions(workload=workload, users=users, progress=progress, **kw)
        report = run_bench(opts)
    except BenchError as exc:
        click.echo(f"bench: {exc}", err=True)
        sys.exit(EXIT_CANNOT_RUN)
    click.echo(report.to_json() if as_json else report.to_table())
    if not report.ok:
        if as_json:
            for problem in report.problems():
                click.echo(f"bench: FAILED: {problem}", err=True)
        sys.exit(EXIT_CHECK_FAILED)


@bench.command()
@click.option("--users", type=int, default=200, show_default=True, help="Online users; each sends to random peers.")
@_target_options
@_send_options
def direct(users: int, **kw: Any) -> None:
    """One-to-one messages between USERS online users, to random peers."""
    _execute("direct", users, kw)


@bench.command()
@click.option("--members", type=int, default=500, show_default=True, help="Members of the group, all online.")
@click.option("--senders", type=int, default=10, show_default=True, help="Members that post (0 = all).")
@_target_options
@_send_options
def group(members: int, **kw: Any) -> None:
    """One group of MEMBERS online members; SENDERS of them post; every member receives."""
    _execute("group", members, kw)


@bench.command()
@click.option("--connections", type=int, default=1000, show_default=True, help="Clients that log in and idle.")
@_target_options
def connect(connections: int, **kw: Any) -> None:
    """CONNECTIONS clients log in as fast as possible, then stay idle: logins/s and RSS per connection."""
    _execute("connect", connections, kw)


def main(argv: Sequence[str]) -> int:
    """Run ``bench`` with ``argv``; return the exit code instead of exiting (for openim/cli.py)."""
    try:
        bench.main(args=list(argv), prog_name="openim bench", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_CANNOT_RUN)
    return EXIT_OK
