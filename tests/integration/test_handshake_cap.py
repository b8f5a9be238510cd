"""--max-handshakes / --max-handshakes-per-address: connections that never log in cannot take the
server's slots one for one. tether connects upstream on accept, so each open handshake holds a
server connection; over a cap tether refuses at accept, before connecting upstream, with its own
ERR 1040 as the first packet. Slowloris at scale: 300 sockets that trickle bytes and never log in."""
import threading
import time

import pytest

from abuse_support import Slowloris, closed_by_peer, parse_err
from helpers import wait_until
from incident_support import events
from tether_proc import closed_counts

N = 300


def query_ok(t, host="127.0.0.1"):
    with t.connect(bind_address=host, program_name="normal-app") as c, c.cursor() as cur:
        cur.execute("SELECT 1 + 1")
        return cur.fetchone() == (2,)


def hold_and_watch(t, mariadb, attack, seconds, bound):
    """Trickles for `seconds`, checking the server's Threads_connected stays within `bound` and
    /readyz stays 200. Returns the highest Threads_connected seen."""
    highest = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        attack.trickle()
        now = mariadb.threads_connected()
        highest = max(highest, now)
        assert now <= bound, f"Threads_connected {now} > {bound} while {len(attack.open)} sockets trickle"
        assert t.http("GET", "/readyz")[0] == 200, t.http("GET", "/readyz")
        time.sleep(0.5)
    return highest


def test_per_address_cap_keeps_other_addresses_serving(tether, mariadb):
    t = tether(max_handshakes=64, max_handshakes_per_address=10, max_handshake_queue=100,
               handshake_timeout="30s", readiness_interval="1s")
    t.wait_ready()
    base = mariadb.threads_connected()
    attack = Slowloris(t.host, t.port, ["127.0.0.2"]).connect_all(N)
    try:
        # 10 in their handshake, 100 waiting with no server connection, the rest refused at once
        assert len(attack.open) == 10, (len(attack.open), len(attack.queued), len(attack.refused), attack.other)
        assert len(attack.queued) == 100, (len(attack.queued), len(attack.refused))
        assert len(attack.refused) == N - 110
        seq, payload = attack.refused[0]
        code, state, msg = parse_err(payload)
        assert (seq, code, state) == (0, 1040, "08004"), (seq, code, state, msg)
        assert "from 127.0.0.2: --max-handshakes-per-address 10" in msg, msg
        assert "the wait queue (--max-handshake-queue 100) is full" in msg, msg
        m = t.metrics()
        assert m.value("tether_handshake_queue_length") == 100
        assert m.value("tether_handshake_queue_waits_total") == 100

        # + 2: the readiness probe and this test's own root connection may come and go
        highest = hold_and_watch(t, mariadb, attack, 4, base + 10 + 2)
        assert highest >= base + 10, "the held handshakes should each hold a server connection"
        # another address is not affected: it does not even wait
        assert query_ok(t, "127.0.0.1")
        m = t.metrics()
        assert m.value("tether_handshake_queue_waits_total") == 100
        assert m.value("tether_rejected_connections_total", client="", user="",
                       limit="handshakes_per_address") == N - 110
        assert closed_counts(t).get("rejected", 0) == N - 110
        lines = events(t, "connection_rejected", limit="handshakes_per_address")
        assert 1 <= len(lines) <= 2, [ln.raw for ln in lines]  # rate-limited
        assert lines[0].get("peer") == "127.0.0.2", lines[0].raw
    finally:
        attack.close()
    # a waiter that goes is out of the queue at once, not at its timeout
    wait_until(lambda: t.metrics().value("tether_handshake_queue_length") == 0, 5, "the queue to empty")
    wait_until(lambda: t.metrics().value("tether_connections_closed_total", reason="handshake_failed") >= 110,
               10, "the held and waiting sockets' sessions to end")
    again = Slowloris(t.host, t.port, ["127.0.0.2"]).connect(1)
    assert len(again.open) == 1
    again.close()


def test_total_cap_across_addresses(tether, mariadb):
    t = tether(max_handshakes=24, max_handshakes_per_address=0, max_handshake_queue=50,
               handshake_timeout="30s", readiness_interval="1s")
    t.wait_ready()
    base = mariadb.threads_connected()
    attack = Slowloris(t.host, t.port, [f"127.0.1.{i}" for i in range(1, 31)]).connect_all(N)
    normal = {}
    try:
        assert len(attack.open) == 24, (len(attack.open), len(attack.queued), len(attack.refused), attack.other)
        assert len(attack.queued) == 50
        code, state, msg = parse_err(attack.refused[0][1])
        assert (code, state) == (1040, "08004") and "--max-handshakes 24 reached" in msg, msg
        hold_and_watch(t, mariadb, attack, 3, base + 24 + 2)
        assert t.metrics().value("tether_rejected_connections_total", client="", user="",
                                 limit="handshakes") == N - 24 - 50
        # while the cap is full a normal client from another address waits: the queue is full,
        # but of 127.0.1.x, so one of theirs makes room for it ...
        waiter = threading.Thread(target=lambda: normal.update(ok=query_ok(t)))
        waiter.start()
        wait_until(lambda: t.metrics().value("tether_rejected_connections_total", client="", user="",
                                             limit="handshakes") == N - 24 - 50 + 1, 5, "one waiter pushed out")
        hold_and_watch(t, mariadb, attack, 1.5, base + 24 + 2)
        assert waiter.is_alive() and not normal, "the normal client should still be waiting"
        assert t.metrics().value("tether_handshake_queue_length") == 50
    finally:
        attack.close()
    # ... and is served once the held handshakes are gone
    waiter.join(15)
    assert normal.get("ok") is True, normal
    assert t.metrics().value("tether_handshake_queue_waits_total") == 51


def test_handshake_timeout_still_ends_held_handshakes(tether, mariadb):
    """The second line: a held handshake still ends at --handshake-timeout, freeing its slot."""
    t = tether(max_handshakes=4, handshake_timeout="1s")
    attack = Slowloris(t.host, t.port, ["127.0.0.3"]).connect(4)
    assert len(attack.open) == 4
    assert all(closed_by_peer(s, 5) for s in attack.open)
    attack.close()
    wait_until(lambda: closed_counts(t).get("client_timeout", 0) == 4, 5, "4 client_timeout closes")
    assert query_ok(t)
