"""The handshake queue: connections over --max-handshakes wait for a slot (holding only their
socket, no server connection) instead of being refused, so a burst of honest logins is carried;
a waiter is refused with tether's ERR 1040 only when --handshake-timeout from accept passes
without a slot, or when --max-handshake-queue is full (0: refused at once)."""
import socket
import threading
import time

from abuse_support import Slowloris, first_packet, parse_err
from helpers import wait_until
from tether_proc import closed_counts

BURST = 180  # held open at once: the private server allows max_connections=200
CAP = 8


def test_a_burst_of_logins_far_over_the_cap_all_succeed(tether, mariadb):
    t = tether(max_handshakes=CAP, readiness_interval="60s")
    t.wait_ready()
    base = mariadb.threads_connected()
    conns, errors, over = [], [], []
    lock = threading.Lock()
    go = threading.Event()
    done = threading.Event()

    def open_one():
        go.wait()
        try:
            c = t.connect(program_name="burst", connect_timeout=30)
            with lock:
                conns.append(c)
        except Exception as e:
            with lock:
                errors.append(repr(e))

    def sample():
        # The server never sees more than the cap in handshake: every server connection is an
        # open session, one of at most CAP handshakes, the probe or this sampler's own.
        while not done.is_set():
            server = mariadb.threads_connected()
            # tether's count of logged-in sessions only grows during the burst: read after the
            # server's, it is at least what was logged in when the server was sampled
            opened = t.metrics().value("tether_client_connections", client="burst", user="app")
            if server > base + opened + CAP + 2:
                over.append((server, opened))
            time.sleep(0.01)

    threads = [threading.Thread(target=open_one) for _ in range(BURST)]
    for th in threads:
        th.start()
    sampler = threading.Thread(target=sample)
    sampler.start()
    go.set()
    for th in threads:
        th.join(60)
    done.set()
    sampler.join(10)
    try:
        assert not errors, errors[:3]
        assert len(conns) == BURST
        assert not over, over[:5]
        m = t.metrics()
        assert m.value("tether_handshake_queue_waits_total") > 0
        assert m.value("tether_handshake_queue_length") == 0
        assert m.sum("tether_rejected_connections_total") == 0
        assert m.value("tether_client_connections", client="burst", user="app") == BURST
        for c in conns[::20]:
            c.ping(reconnect=False)
    finally:
        for c in conns:
            c.close()
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 15, "all closed")


def blackhole_upstream():
    """A loopback listener that never accepts, its accept queue filled by one connection: the
    kernel drops every further SYN, so a connect to it hangs until tether's --connect-timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=2)
    return listener, filler


def test_a_waiter_without_a_slot_gets_1040_at_its_handshake_timeout(tether):
    listener, filler = blackhole_upstream()
    try:
        host, port = listener.getsockname()
        # The holder's slot stays taken for --connect-timeout (4 s), longer than the waiter's
        # whole budget (--handshake-timeout 1 s from accept).
        t = tether(upstream=f"{host}:{port}", max_handshakes=1, connect_timeout="4s", handshake_timeout="1s")
        holder = socket.create_connection((t.host, t.port), timeout=5)
        wait_until(lambda: any(c.get("state") == "connecting" for c in t.connections()), 5, "the holder connecting")
        began = time.monotonic()
        waiter = socket.create_connection((t.host, t.port), timeout=5)
        wait_until(lambda: t.metrics().value("tether_handshake_queue_length") == 1, 2, "the waiter queued")
        pkt = first_packet(waiter, 5)
        waited = time.monotonic() - began
        assert pkt is not None, "closed without an ERR"
        seq, payload = pkt
        code, state, msg = parse_err(payload)
        assert (seq, code, state) == (0, 1040, "08004"), (seq, code, state, msg)
        assert "--max-handshakes 1 reached" in msg, msg
        assert "no slot freed within --handshake-timeout 1.000s" in msg, msg
        assert 0.9 <= waited < 3.5, waited  # at its budget, well before the holder's slot frees
        m = t.metrics()
        assert m.value("tether_handshake_queue_length") == 0
        assert m.value("tether_handshake_queue_waits_total") == 1
        assert m.value("tether_rejected_connections_total", client="", user="", limit="handshakes") == 1
        assert closed_counts(t).get("rejected", 0) == 1
        # the holder itself is unaffected by the queue: it ends at its own connect timeout
        pkt = first_packet(holder, 6)
        assert pkt is not None and parse_err(pkt[1])[0] == 9001, pkt
        holder.close()
        waiter.close()
    finally:
        filler.close()
        listener.close()


def test_queue_0_refuses_at_once_and_a_full_queue_refuses_the_newcomer(tether):
    t = tether(max_handshakes=2, max_handshake_queue=0, handshake_timeout="30s")
    attack = Slowloris(t.host, t.port, ["127.0.0.4"]).connect_all(5, settle=1.0)
    try:
        assert (len(attack.open), len(attack.queued), len(attack.refused)) == (2, 0, 3)
        code, _, msg = parse_err(attack.refused[0][1])
        assert code == 1040 and msg.endswith("--max-handshakes 2 reached"), msg
        assert t.metrics().value("tether_handshake_queue_waits_total") == 0
    finally:
        attack.close()

    t2 = tether(max_handshakes=2, max_handshake_queue=3, handshake_timeout="30s")
    attack = Slowloris(t2.host, t2.port, ["127.0.0.5"]).connect_all(7, settle=1.0)
    try:
        assert (len(attack.open), len(attack.queued), len(attack.refused)) == (2, 3, 2)
        code, _, msg = parse_err(attack.refused[0][1])
        assert code == 1040 and "the wait queue (--max-handshake-queue 3) is full" in msg, msg
        m = t2.metrics()
        assert m.value("tether_handshake_queue_length") == 3
        assert m.value("tether_rejected_connections_total", client="", user="", limit="handshakes") == 2
        # a waiter that closes leaves the queue at once
        attack.queued.pop().close()
        wait_until(lambda: t2.metrics().value("tether_handshake_queue_length") == 2, 3, "the closed waiter gone")
    finally:
        attack.close()
