"""The bench's accounting on synthetic record streams: losses and duplicates are found, and fail the run.

No server here: the ledger and the delivery log are pure, so the streams below stand for what the
load processes would report, including the cases a healthy server never produces.
"""

from __future__ import annotations

import dataclasses
from array import array

import pytest

from openim.bench import cli as bench_cli
from openim.bench import runner
from openim.bench.report import Report
from openim.bench.stats import DeliveryLog, Ledger, make_key, percentiles, sender_of


def keys(sender: int, n: int) -> list[int]:
    return [make_key(sender, seq) for seq in range(1, n + 1)]


def test_key_round_trip() -> None:
    key = make_key(12345, 678)
    assert sender_of(key) == 12345 and key & 0xFFFFFFFF == 678


def test_clean_direct_run() -> None:
    ledger = Ledger(fanout=1)
    ledger.add_sender(sent=10, acked=keys(1, 10), refused=0)
    log = DeliveryLog()
    for k in keys(1, 10):
        assert log.record(2, k)
    ledger.add_recipient(log.delivered, log.duplicates)
    c = ledger.counts()
    assert (c.sent, c.acked, c.delivered, c.deliveries, c.lost, c.duplicates) == (10, 10, 10, 10, 0, 0)
    assert c.ok and c.problems() == []


def test_acked_but_not_delivered_is_lost() -> None:
    ledger = Ledger(fanout=1)
    ledger.add_sender(sent=5, acked=keys(1, 5), refused=0)
    ledger.add_recipient(keys(1, 5)[:3], 0)
    c = ledger.counts()
    assert c.lost == 2 and c.lost_deliveries == 2 and c.delivered == 3
    assert not c.ok and "2 acked messages lost" in c.problems()[0]


def test_second_copy_to_the_same_recipient_is_a_duplicate() -> None:
    log = DeliveryLog()
    k = make_key(3, 1)
    assert log.record(7, k)
    assert not log.record(7, k)
    assert log.record(8, k)  # another recipient of the same (group) message is not a duplicate
    assert log.duplicates == 1 and list(log.delivered) == [k, k]
    ledger = Ledger(fanout=2)
    ledger.add_sender(1, [k], 0)
    ledger.add_recipient(log.delivered, log.duplicates)
    c = ledger.counts()
    assert c.duplicates == 1 and c.lost == 0 and not c.ok


def test_group_fanout_counts_each_member() -> None:
    ledger = Ledger(fanout=4)
    ledger.add_sender(sent=2, acked=keys(0, 2), refused=0)
    a, b = keys(0, 2)
    # process 1 holds two members, process 2 the other two; message b misses one member
    ledger.add_recipient([a, a, b, b], 0)
    ledger.add_recipient([a, a, b], 0)
    c = ledger.counts()
    assert c.expected_deliveries == 8 and c.deliveries == 7
    assert c.delivered == 1 and c.lost == 1 and c.lost_deliveries == 1


def test_unanswered_refused_and_unexpected_fail_the_run() -> None:
    ledger = Ledger(fanout=1)
    ledger.add_sender(sent=4, acked=keys(1, 2), refused=1)
    ledger.add_recipient([*keys(1, 2), make_key(9, 9)], 0)
    c = ledger.counts()
    assert c.unacked == 1 and c.refused == 1 and c.unexpected == 1 and c.lost == 0
    assert len(c.problems()) == 3 and not c.ok


def test_percentiles() -> None:
    p = percentiles(array("q", range(1000, 101000, 1000)))  # 1..100 ms
    assert (p.n, p.p50, p.p90, p.p99, p.max) == (100, 50.0, 90.0, 99.0, 100.0)
    assert percentiles([]).n == 0


def _report_with(ledger: Ledger) -> Report:
    """A report as the runner builds it for a run with no load processes, with the ledger's counts."""
    opts = runner.BenchOptions("direct", "http://x", "ws://x", "s", users=2, duration=1.0)
    run = runner._Run(runner.ServerProbe("http://x"), {}, 1.0, 0.0, [], None, wall_run=1.0)
    base = runner._report(opts, [], run, parent_cpu=0.0)
    return dataclasses.replace(base, counts=ledger.counts())


@pytest.mark.parametrize("lose", [False, True])
def test_cli_exit_code_follows_the_checks(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                          lose: bool) -> None:
    ledger = Ledger(fanout=1)
    ledger.add_sender(sent=3, acked=keys(1, 3), refused=0)
    ledger.add_recipient(keys(1, 3)[: 2 if lose else 3], 0)
    report = _report_with(ledger)
    monkeypatch.setattr(runner, "run_bench", lambda opts: report)
    rc = bench_cli.main(["direct", "--secret", "s", "--users", "2", "--json", "--no-progress"])
    out, err = capsys.readouterr()
    if lose:
        assert rc == bench_cli.EXIT_CHECK_FAILED
        assert '"lost": 1' in out and "FAILED: 1 acked messages lost" in err
    else:
        assert rc == 0 and '"ok": true' in out
