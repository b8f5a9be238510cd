"""TCP keepalive: tether notices a peer *host* that vanished without FIN or RST.

--client-keepalive D / --upstream-keepalive D (contract, issue 3): keepalive
idle=D, interval=max(1s, D/3), count=3, plus TCP_USER_TIMEOUT, so a vanished
peer is noticed within about 2*D.  Then
  * a vanished client's backend link is closed: the server's PROCESSLIST row
    goes, tether_orphans_closed_total +1, close reason client_closed;
  * a vanished server's clients are closed: reason upstream_closed.

Each test runs two tethers side by side against the same vanish event: one
with keepalive D=2s and a control with keepalive 0 (off).  The control must
keep its session for at least CONTROL_HOLD_S (and longer than the keepalive
tether took), which proves the vanish really is silent -- without keepalive
nobody would ever notice -- so the detection is keepalive's doing.

The vanish itself: keepalive_support.vanish() (a 0-byte bfifo qdisc on the
far end of the veth pair; every packet the vanished host sends is dropped,
nothing at all reaches tether; see the docstring there for why this is
silent and why not `ip link set down` or a drop on tether's side).

The MariaDB is the netns rig's (conftest.py: mariadb_netns), reached over its
own veth pair.  Test 1 adds a client namespace; test 2 makes the rig's
server host vanish and lifts that again at teardown.

Test 3 is the other side of the coin: a client host that is alive and ACKing
but stops reading a streamed result for a while must NOT be cut (the kernel
aborts zero-window probing once TCP_USER_TIMEOUT has passed, even when every
probe is answered).

Run as root:  /usr/bin/python3 -m pytest -q -s tests/netns/test_keepalive.py
The measured detection times are printed (-s).
"""

import time
from contextlib import ExitStack

import pymysql
import pytest

from keepalive_support import (ClientHost, closed, log_lines, metrics, ns_veth, orphans,
                               peer_closed, reappear, require_flags, socket_info, start_holder,
                               start_tether, tail, vanish, dropped_by_vanish, wait_quiet)

KEEPALIVE = "2s"
DETECT_LIMIT_S = 15.0      # the keepalive tether must have acted within this
CONTROL_HOLD_S = 10.0      # the keepalive-off tether must keep its session at least this long
POLL_S = 0.1
DB = "tether_test"


def _evidence(tethers, extra=""):
    parts = [extra]
    for t in tethers:
        try:
            m = metrics(t)
            ms = {k[0] + str(dict(k[1])): v for k, v in m.items()
                  if k[0] in ("tether_connections_closed_total", "tether_orphans_closed_total",
                              "tether_client_connections", "tether_upstream_connections")}
        except Exception as e:  # noqa: BLE001
            ms = repr(e)
        try:
            conns = t.connections()
        except Exception as e:  # noqa: BLE001
            conns = repr(e)
        parts.append(f"--- tether {t.name} argv={t.argv()[1:]} alive={t.alive()}\n"
                     f"metrics: {ms}\n/connections: {conns}\n"
                     f"stderr (tail):\n{tail(t.log(), 40)}")
    return "\n".join(parts)


def _server_ids(rig, ids):
    ids = list(ids)
    rows = rig.query("SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN (%s)"
                     % ",".join(["%s"] * len(ids)), ids)
    return {r["ID"] for r in rows}


def _safe_close(conn):
    try:
        conn.close()
    except Exception:  # noqa: BLE001  (already closed by the peer)
        pass


# ---------------------------------------------------------------------------------------------
# 1. A client host vanishes.
# ---------------------------------------------------------------------------------------------

def test_vanished_client_host_closes_backend(mariadb_netns, tmp_path):
    require_flags("--client-keepalive")
    rig = mariadb_netns
    upstream = f"{rig.server_ip}:{rig.port}"
    with ExitStack() as stack:
        host = ClientHost(stack, "c")
        ka = start_tether(stack, tmp_path, "ka", upstream,
                          listen=f"{host.host_ip}:{host.free_port()}", client_keepalive=KEEPALIVE)
        ctl = start_tether(stack, tmp_path, "ctl", upstream,
                           listen=f"{host.host_ip}:{host.free_port()}", client_keepalive="0")
        both = (ka, ctl)
        base = {t.name: (orphans(t), closed(t, "client_closed")) for t in both}

        _, tids = start_holder(stack, host, [["ka", host.host_ip, ka.port],
                                             ["ctl", host.host_ip, ctl.port]],
                               rig.app_user, rig.app_password, DB)
        stack.callback(host.reappear)          # runs first at teardown (LIFO)
        tid_ka, tid_ctl = tids["ka"], tids["ctl"]

        # Both sessions are up, come from the client namespace, and are on the server.
        for t, tid in ((ka, tid_ka), (ctl, tid_ctl)):
            c = t.connection_by_thread(tid)
            assert c is not None, _evidence(both, f"{t.name}: no session for thread {tid}")
            assert str(c["peer"]).startswith(host.ip), c
        assert _server_ids(rig, (tid_ka, tid_ctl)) == {tid_ka, tid_ctl}
        f_ka, f_ctl = ["sport", "=", f":{ka.port}"], ["sport", "=", f":{ctl.port}"]
        wait_quiet(f_ka)
        wait_quiet(f_ctl)
        ss_ka, ss_ctl = socket_info(f_ka), socket_info(f_ctl)

        # ---- the client host vanishes -------------------------------------------------------
        t0 = time.monotonic()
        host.vanish()
        t_list = t_row = None          # keepalive tether: session gone / server row gone
        ctl_lost = None                # control lost its session (must not happen)
        hold_until = t0 + CONTROL_HOLD_S
        while True:
            now = time.monotonic()
            if t_list is None and ka.connection_by_thread(tid_ka) is None:
                t_list = now - t0
            present = _server_ids(rig, (tid_ka, tid_ctl))
            if t_row is None and tid_ka not in present:
                t_row = time.monotonic() - t0
            if ctl_lost is None and (tid_ctl not in present
                                     or ctl.connection_by_thread(tid_ctl) is None):
                ctl_lost = time.monotonic() - t0
            done = t_list is not None and t_row is not None
            if done:
                hold_until = max(hold_until, t0 + max(t_list, t_row) + 2.0)
            if (done and now >= hold_until) or now - t0 > max(DETECT_LIMIT_S, CONTROL_HOLD_S):
                break
            time.sleep(POLL_S)
        held = time.monotonic() - t0
        dropped = host.dropped()
        ss_after = socket_info(f_ka) + "\n" + socket_info(f_ctl)

        fmt = (lambda v: "NOT within %.0fs" % DETECT_LIMIT_S if v is None else "%.2fs" % v)
        print(f"\n[keepalive] client host vanished, --client-keepalive {KEEPALIVE}: "
              f"tether dropped the session from /connections after {fmt(t_list)}, "
              f"server PROCESSLIST row gone after {fmt(t_row)}; "
              f"control (--client-keepalive 0) still holding after {held:.1f}s: "
              f"{ctl_lost is None}; packets swallowed by the vanish: {dropped}")
        print(f"[keepalive] ss before vanish, keepalive tether:\n{ss_ka}\n"
              f"[keepalive] ss before vanish, control tether:\n{ss_ctl}")

        ev = (f"client ns {host.ns} {host.ip} -> tether on {host.host_ip}; server {upstream}\n"
              f"t_list={t_list} t_row={t_row} ctl_lost={ctl_lost} held={held:.1f}s "
              f"dropped={dropped}\nss ka before: {ss_ka}\nss ctl before: {ss_ctl}\n"
              f"ss at the end (tether's client sockets):\n{ss_after}")
        # Non-vacuity first: without keepalive the vanish goes unnoticed.
        assert ctl_lost is None, _evidence(both, "CONTROL (--client-keepalive 0) lost its "
                                           f"session after {ctl_lost:.2f}s: the vanish is not "
                                           "silent, the test proves nothing\n" + ev)
        assert held >= CONTROL_HOLD_S
        assert t_list is not None and t_list <= DETECT_LIMIT_S, _evidence(
            both, f"--client-keepalive {KEEPALIVE}: session still in /connections "
                  f"{DETECT_LIMIT_S}s after the client host vanished\n" + ev)
        assert t_row is not None and t_row <= DETECT_LIMIT_S, _evidence(
            both, f"--client-keepalive {KEEPALIVE}: server thread {tid_ka} still in "
                  f"PROCESSLIST {DETECT_LIMIT_S}s after the client host vanished\n" + ev)
        assert ka.connections() == [], _evidence(both, "keepalive tether still lists sessions\n" + ev)

        o0, c0 = base["ka"]
        o1, c1 = orphans(ka), closed(ka, "client_closed")
        assert o1 == o0 + 1, _evidence(
            both, f"tether_orphans_closed_total {o0} -> {o1} (want +1)\n" + ev)
        assert c1 >= c0 + 1, _evidence(
            both, f'tether_connections_closed_total{{reason="client_closed"}} {c0} -> {c1} '
                  f"(want +1)\n" + ev)
        # The control is untouched.
        assert (orphans(ctl), closed(ctl, "client_closed")) == base["ctl"], _evidence(both, ev)
        assert ctl.connection_by_thread(tid_ctl) is not None
        assert tid_ctl in _server_ids(rig, (tid_ctl,))
        print(f"[keepalive] keepalive tether log:\n"
              f"{log_lines(ka, 'session_closed') or '(no session_closed line)'}")


# ---------------------------------------------------------------------------------------------
# 2. The server host vanishes.
# ---------------------------------------------------------------------------------------------

def test_vanished_server_host_closes_clients(mariadb_netns, tmp_path):
    require_flags("--upstream-keepalive")
    rig = mariadb_netns
    upstream = f"{rig.server_ip}:{rig.port}"
    dev = ns_veth(rig.ns)
    with ExitStack() as stack:
        ka = start_tether(stack, tmp_path, "ka", upstream, upstream_keepalive=KEEPALIVE)
        ctl = start_tether(stack, tmp_path, "ctl", upstream, upstream_keepalive="0")
        both = (ka, ctl)
        base = {t.name: closed(t, "upstream_closed") for t in both}

        conns, tids = {}, {}
        for t in both:
            c = t.connect(user=rig.app_user, password=rig.app_password, database=DB,
                          program_name="ka-" + t.name, read_timeout=5, write_timeout=5)
            stack.callback(_safe_close, c)
            with c.cursor() as cur:
                cur.execute("SELECT CONNECTION_ID(), USER()")
                tid, user = cur.fetchone()
            assert user.endswith("@" + rig.host_ip), (user, rig.host_ip)   # really via the veth
            conns[t.name], tids[t.name] = c, tid
            assert t.connection_by_thread(tid) is not None
        assert _server_ids(rig, tids.values()) == set(tids.values())
        f_up = ["dst", f"{rig.server_ip}:{rig.port}"]
        wait_quiet(f_up)
        ss_ka = socket_info(f_up)

        # ---- the server host vanishes ---------------------------------------------------------
        t0 = time.monotonic()
        vanish(rig.ns, dev)
        stack.callback(reappear, rig.ns, dev)   # runs first at teardown (LIFO)
        t_list = t_eof = None          # keepalive tether: session gone / client socket closed
        ctl_lost = None
        hold_until = t0 + CONTROL_HOLD_S
        while True:
            now = time.monotonic()
            if t_list is None and ka.connection_by_thread(tids["ka"]) is None:
                t_list = now - t0
            if t_eof is None and peer_closed(conns["ka"]._sock):
                t_eof = time.monotonic() - t0
            if ctl_lost is None and (peer_closed(conns["ctl"]._sock)
                                     or ctl.connection_by_thread(tids["ctl"]) is None):
                ctl_lost = time.monotonic() - t0
            done = t_list is not None and t_eof is not None
            if done:
                hold_until = max(hold_until, t0 + max(t_list, t_eof) + 2.0)
            if (done and now >= hold_until) or now - t0 > max(DETECT_LIMIT_S, CONTROL_HOLD_S):
                break
            time.sleep(POLL_S)
        held = time.monotonic() - t0
        dropped = dropped_by_vanish(rig.ns, dev)
        ss_after = socket_info(f_up)

        fmt = (lambda v: "NOT within %.0fs" % DETECT_LIMIT_S if v is None else "%.2fs" % v)
        print(f"\n[keepalive] server host vanished, --upstream-keepalive {KEEPALIVE}: "
              f"client socket closed by tether after {fmt(t_eof)}, "
              f"session gone from /connections after {fmt(t_list)}; "
              f"control (--upstream-keepalive 0) still holding after {held:.1f}s: "
              f"{ctl_lost is None}; packets swallowed by the vanish: {dropped}")
        print(f"[keepalive] ss before vanish, both tethers' upstream sockets (-p tells which):\n{ss_ka}")

        ev = (f"server ns {rig.ns} {rig.server_ip} (veth {dev}); tether on {rig.host_ip}\n"
              f"t_list={t_list} t_eof={t_eof} ctl_lost={ctl_lost} held={held:.1f}s "
              f"dropped={dropped}\nss before: {ss_ka}\n"
              f"ss at the end (tethers' upstream sockets):\n{ss_after}")
        assert ctl_lost is None, _evidence(both, "CONTROL (--upstream-keepalive 0) lost its "
                                           f"session after {ctl_lost:.2f}s: the vanish is not "
                                           "silent, the test proves nothing\n" + ev)
        assert held >= CONTROL_HOLD_S
        assert t_eof is not None and t_eof <= DETECT_LIMIT_S, _evidence(
            both, f"--upstream-keepalive {KEEPALIVE}: client socket not closed "
                  f"{DETECT_LIMIT_S}s after the server host vanished\n" + ev)
        assert t_list is not None and t_list <= DETECT_LIMIT_S, _evidence(
            both, f"--upstream-keepalive {KEEPALIVE}: session still in /connections "
                  f"{DETECT_LIMIT_S}s after the server host vanished\n" + ev)

        # The client's next query fails with a connection error, promptly.
        q0 = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError) as ei:
            with conns["ka"].cursor() as cur:
                cur.execute("SELECT 1")
        assert ei.value.args[0] in (2006, 2013), ei.value.args
        assert time.monotonic() - q0 < 3, "the failing query should fail at once, not time out"

        assert ka.connections() == [], _evidence(both, "keepalive tether still lists sessions\n" + ev)
        u0, u1 = base["ka"], closed(ka, "upstream_closed")
        assert u1 >= u0 + 1, _evidence(
            both, f'tether_connections_closed_total{{reason="upstream_closed"}} {u0} -> {u1} '
                  f"(want +1)\n" + ev)
        assert closed(ctl, "upstream_closed") == base["ctl"], _evidence(both, ev)
        assert ctl.connection_by_thread(tids["ctl"]) is not None
        print(f"[keepalive] keepalive tether log:\n"
              f"{log_lines(ka, 'session_closed') or '(no session_closed line)'}")


# ---------------------------------------------------------------------------------------------
# 3. A live but slow client is not a vanished one.
# ---------------------------------------------------------------------------------------------

STALL_S = 8.0    # > 2*D and > the TCP_USER_TIMEOUT tether derives from D=2s (5 s)


def _quiet_cursor_cleanup(conn, cur):
    """After a lost connection pymysql's unbuffered cursor complains from __del__; hush it."""
    for obj in (cur, conn):
        res = getattr(obj, "_result", None)
        if res is not None:
            res.unbuffered_active = False
            obj._result = None
    _safe_close(conn)


def test_live_slow_reader_is_not_cut(mariadb_netns, tmp_path):
    """Keepalive is for hosts that are gone.  A client whose host is alive and ACKing, but
    which stops reading a streamed result for a while (a slow consumer, a GC pause, a
    `mysqldump --quick | slow-compressor`), must keep its session: its receive window
    fills, tether's socket sits in zero-window probing, and the client's kernel answers
    every probe.  (Linux aborts a socket with TCP_USER_TIMEOUT set once zero-window
    probing has lasted longer than that timeout, even when every probe is answered --
    so TCP_USER_TIMEOUT ~= 2*D on client sockets cuts such clients.)

    A control tether with --client-keepalive 0 serves an identical client through the
    same stall at the same time: it must come through, so the stall is harmless as such."""
    require_flags("--client-keepalive")
    rig = mariadb_netns
    upstream = f"{rig.server_ip}:{rig.port}"
    rows = 5000     # ~50 MB: far more than every socket buffer on the way
    with ExitStack() as stack:
        ka = start_tether(stack, tmp_path, "ka", upstream, client_keepalive=KEEPALIVE)
        ctl = start_tether(stack, tmp_path, "ctl", upstream, client_keepalive="0")
        both = (ka, ctl)
        base = {t.name: ({r: closed(t, r) for r in ("client_closed", "upstream_closed")},
                         orphans(t)) for t in both}
        curs = {}
        for t in both:
            c = t.connect(user=rig.app_user, password=rig.app_password, database=DB,
                          program_name="ka-slow-" + t.name, read_timeout=30, write_timeout=30,
                          cursorclass=pymysql.cursors.SSCursor)
            cur = c.cursor()
            stack.callback(_quiet_cursor_cleanup, c, cur)
            cur.execute(f"SELECT seq, REPEAT('x', 10000) FROM seq_1_to_{rows}")
            assert cur.fetchone()[0] == 1
            curs[t.name] = (c, cur)
        f_ka = ["sport", "=", f":{ka.port}"]
        time.sleep(1.0)
        ss_stalled = socket_info(f_ka)
        time.sleep(STALL_S - 1.0)
        ss_late = socket_info(f_ka)

        got = {}
        for name, (c, cur) in curs.items():
            n, err = 1, None
            try:
                for _ in cur:
                    n += 1
            except pymysql.err.MySQLError as e:
                err = e
            got[name] = (n, err)
        print(f"\n[keepalive] live clients stalled {STALL_S:.0f}s mid-result: "
              f"--client-keepalive {KEEPALIVE} read {got['ka'][0]}/{rows} rows afterwards "
              f"(error: {got['ka'][1]!r}); control --client-keepalive 0 read "
              f"{got['ctl'][0]}/{rows} (error: {got['ctl'][1]!r})")
        ev = (f"ss 1s into the stall (keepalive tether's client socket; Send-Q = bytes waiting "
              f"on the client's window, timer persist = zero-window probing):\n{ss_stalled}\n"
              f"ss at {STALL_S - 1.0:.0f}s:\n{ss_late}\n"
              f"keepalive tether session_closed lines:\n{log_lines(ka, 'session_closed')}")
        assert got["ctl"] == (rows, None), _evidence(
            both, f"CONTROL (--client-keepalive 0) did not survive the stall: {got['ctl']}; "
                  f"the test proves nothing\n" + ev)
        n, err = got["ka"]
        assert err is None and n == rows, _evidence(
            both, f"--client-keepalive {KEEPALIVE}: a live client that paused reading for "
                  f"{STALL_S}s was cut after {n} of {rows} rows ({err!r}); it never vanished "
                  f"-- its kernel answered every probe\n" + ev)
        for t in both:
            c, _ = curs[t.name]
            with c.cursor() as cur2:
                cur2.execute("SELECT 42")
                assert cur2.fetchone()[0] == 42
            now = ({r: closed(t, r) for r in base[t.name][0]}, orphans(t))
            assert now == base[t.name], _evidence(both, f"{t.name}: {base[t.name]} -> {now}\n" + ev)
