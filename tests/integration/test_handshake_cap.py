"""--max-handshakes / --max-handshakes-per-address: connections that never log in cannot take the
server's slots one for one. tether connects upstream on accept, so each open handshake holds a
server connection; over a cap tether refuses at accept, before connecting upstream, with its own
ERR 1040 as the first packet. Slowloris at scale: 300 sockets that trickle bytes and never log in."""
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
    t = tether(max_handshakes=64, max_handshakes_per_address=10, handshake_timeout="30s",
               readiness_interval="1s")
    t.wait_ready()
    base = mariadb.threads_connected()
    attack = Slowloris(t.host, t.port, ["127.0.0.2"]).connect(N)
    try:
        assert len(attack.open) == 10, (len(attack.open), len(attack.refused), attack.other)
        assert len(attack.refused) == N - 10
        seq, payload = attack.refused[0]
        code, state, msg = parse_err(payload)
        assert (seq, code, state) == (0, 1040, "08004"), (seq, code, state, msg)
        assert "from 127.0.0.2: --max-handshakes-per-address 10" in msg, msg

        # + 2: the readiness probe and this test's own root connection may come and go
        highest = hold_and_watch(t, mariadb, attack, 4, base + 10 + 2)
        assert highest >= base + 10, "the held handshakes should each hold a server connection"
        # another address is not affected
        assert query_ok(t, "127.0.0.1")
        m = t.metrics()
        assert m.value("tether_rejected_connections_total", client="", user="",
                       limit="handshakes_per_address") == N - 10
        assert closed_counts(t).get("rejected", 0) == N - 10
        lines = events(t, "connection_rejected", limit="handshakes_per_address")
        assert 1 <= len(lines) <= 2, [ln.raw for ln in lines]  # rate-limited
        assert lines[0].get("peer") == "127.0.0.2", lines[0].raw
    finally:
        attack.close()
    # once they go, the address may connect again
    wait_until(lambda: t.metrics().value("tether_connections_closed_total", reason="handshake_failed") >= 10,
               10, "the held sockets' sessions to end")
    again = Slowloris(t.host, t.port, ["127.0.0.2"]).connect(1)
    assert len(again.open) == 1
    again.close()


def test_total_cap_across_addresses(tether, mariadb):
    t = tether(max_handshakes=24, max_handshakes_per_address=0, handshake_timeout="30s",
               readiness_interval="1s")
    t.wait_ready()
    base = mariadb.threads_connected()
    attack = Slowloris(t.host, t.port, [f"127.0.1.{i}" for i in range(1, 31)]).connect(N)
    try:
        assert len(attack.open) == 24, (len(attack.open), len(attack.refused), attack.other)
        code, state, msg = parse_err(attack.refused[0][1])
        assert (code, state) == (1040, "08004") and "--max-handshakes 24 reached" in msg, msg
        hold_and_watch(t, mariadb, attack, 3, base + 24 + 2)
        assert t.metrics().value("tether_rejected_connections_total", client="", user="",
                                 limit="handshakes") == N - 24
        # while the cap is full, a normal client is refused too (by tether, not the server) ...
        with pytest.raises(Exception) as e:
            query_ok(t)
        assert e.value.args[0] == 1040, e.value.args
    finally:
        attack.close()
    # ... and served once the held handshakes are gone
    wait_until(lambda: query_ok(t), 10, "a normal client to be served after the attack")


def test_handshake_timeout_still_ends_held_handshakes(tether, mariadb):
    """The second line: a held handshake still ends at --handshake-timeout, freeing its slot."""
    t = tether(max_handshakes=4, handshake_timeout="1s")
    attack = Slowloris(t.host, t.port, ["127.0.0.3"]).connect(4)
    assert len(attack.open) == 4
    assert all(closed_by_peer(s, 5) for s in attack.open)
    attack.close()
    wait_until(lambda: closed_counts(t).get("client_timeout", 0) == 4, 5, "4 client_timeout closes")
    assert query_ok(t)
