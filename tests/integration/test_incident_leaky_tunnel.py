"""The first incident (seeds: "内网代理造成的Too many connections异常排查"): a Netty tunnel in front of
MySQL did not tell its far side when a user disconnected, so every stopped application left its
server connections open until MySQL ran out of them and even root could not log in.

Here a Python tunnel with exactly that bug sits in front of tether. Its clients go away without
COM_QUIT (the application was stopped) and the tunnel keeps its links to tether open. tether must
see those sessions as leak suspects (metrics + warning log lines naming the client, user and
database), report them periodically, and close them at --idle-timeout with COM_QUIT upstream, so
the server's PROCESSLIST is clean and its Aborted_clients does not rise."""
import time

import pymysql

from helpers import drop_connection, wait_until
from incident_support import LeakyTunnel, events
from tether_proc import closed_counts

CLIENT = "tunnelled-app"
N = 3
# What each session last ran before its client went: the fingerprint names it, the literals never
# reach tether's output (they are where passwords and personal data sit).
STATEMENT = "SELECT CONNECTION_ID(), DATABASE() FROM items WHERE name <> 'tunnel-secret-7731' LIMIT 1615243987"
FINGERPRINT = "SELECT CONNECTION_ID(), DATABASE() FROM items WHERE name <> ? LIMIT ?"
LITERALS = ("tunnel-secret-7731", "1615243987")


def test_tunnel_that_never_closes_its_upstream(tether, mariadb):
    t = tether(leak_idle_threshold="2s", leak_report_interval="2s", idle_timeout="6s")
    tunnel = LeakyTunnel(t.host, t.port)
    aborted_clients = mariadb.status("Aborted_clients")
    closed_before = closed_counts(t).get("idle_timeout", 0)
    try:
        conns, tids, query_done = [], [], []
        for _ in range(N):
            c = pymysql.connect(host="127.0.0.1", port=tunnel.port, user="app", password="apppw",
                                database="tether_test", program_name=CLIENT, connect_timeout=10,
                                read_timeout=30, autocommit=True)
            with c.cursor() as cur:
                cur.execute(STATEMENT)
                tid, n = cur.fetchone()
            query_done.append(time.time())
            assert n == "tether_test"
            conns.append(c)
            tids.append(tid)
        wait_until(lambda: t.metrics().value("tether_client_connections", client=CLIENT,
                                             user="app") == N, 10,
                   f"tether_client_connections{{client={CLIENT!r}}} == {N}")
        ids = {}
        for tid in tids:
            row = wait_until(lambda: t.connection_by_thread(tid), 5, f"/connections row for {tid}")
            assert row["client"] == CLIENT and row["user"] == "app", row
            assert row["last_statement"] == FINGERPRINT and row["commands"] >= 1, row
            ids[str(row["id"])] = tid

        # The application stops: its sockets close without COM_QUIT (a FIN, as a killed JVM does).
        dropped = {}
        for c, tid in zip(conns, tids):
            drop_connection(c)
            dropped[tid] = time.time()
        wait_until(lambda: tunnel.clients_gone == N, 5, "the tunnel to see its 3 clients leave")

        # The tunnel still holds all three links: tether and the server still have the sessions.
        assert tunnel.held_upstream() == N
        m = t.metrics()
        assert m.value("tether_client_connections", client=CLIENT, user="app") == N, \
            "tether lost sessions the tunnel still holds"
        assert set(tids) <= mariadb.thread_ids("app")

        # Within the leak threshold (2 s) plus a tick, all three are suspects - while still open.
        def all_suspect():
            m = t.metrics()
            return m if m.value("tether_leak_suspects", client=CLIENT, user="app") == N else None
        m = wait_until(all_suspect, 10, f'tether_leak_suspects{{client="{CLIENT}",user="app"}} == {N}')
        t_all_suspect = time.time()
        assert m.value("tether_client_connections", client=CLIENT, user="app") == N, \
            "the suspects were closed before the idle timeout"
        assert m.value("tether_client_max_idle_seconds", client=CLIENT, user="app") >= 2, \
            m.series("tether_client_max_idle_seconds")
        assert m.get("tether_idle_in_transaction", client=CLIENT, user="app") == 0, \
            m.series("tether_idle_in_transaction")

        # One leak_suspect warning per session, naming the client, user and database.
        sus = wait_until(lambda: (lambda s: s if len(s) >= N else None)(
            events(t, "leak_suspect", client=CLIENT)), 5, "3 leak_suspect log lines")
        assert len(sus) == N, [s.raw for s in sus]
        assert {s.get("id") for s in sus} == set(ids), ([s.raw for s in sus], ids)
        for s in sus:
            assert s.level == "warn", s.raw
            assert s.get("user") == "app" and s.get("database") == "tether_test", s.raw
            assert s.get("in_transaction") == "false", s.raw
            assert float(s.get("idle_seconds")) >= 2, s.raw
            assert s.get("last_statement") == FINGERPRINT, s.raw
        # /connections marks them as suspects, still naming the statement
        for row in t.connections():
            if str(row["id"]) in ids:
                assert row["leak_suspect"] is True and row["last_statement"] == FINGERPRINT, row

        # ...and a periodic leak report that names the client with its 3 open, 3 suspect sessions.
        def report():
            reps = [r for r in events(t, "leak_report") if int(r.get("suspects", 0)) >= N]
            per = [r for r in events(t, "leak_report_client", client=CLIENT)
                   if r.get("suspects") == str(N) and r.get("open") == str(N)]
            return (reps, per) if reps and per else None
        reps, per = wait_until(report, 6, "a leak_report (suspects>=3) and a leak_report_client line "
                                          f"for {CLIENT} with open=3 suspects=3")
        assert reps[0].level == "warn" and per[0].level == "warn"
        assert per[0].get("user") == "app", per[0].raw
        # ...with what the suspects last ran: "3 of 3 suspects last ran <fingerprint>"
        stmts = wait_until(lambda: events(t, "leak_report_statement", client=CLIENT, suspects=N, of=N), 6,
                           f"a leak_report_statement line for {CLIENT}: 3 of 3")
        assert stmts[0].get("statement") == FINGERPRINT, stmts[0].raw

        # Then --idle-timeout (6 s) closes them: reason idle_timeout, COM_QUIT upstream.
        wait_until(lambda: closed_counts(t).get("idle_timeout", 0) - closed_before >= N, 15,
                   "3 sessions closed with reason idle_timeout")
        t_all_closed = time.time()
        closed = [c for c in events(t, "session_closed", reason="idle_timeout") if c.get("id") in ids]
        assert len(closed) == N, [c.raw for c in events(t, "session_closed")]
        for c in closed:
            assert c.get("client") == CLIENT and float(c.get("age_seconds")) >= 6, c.raw
        assert closed_counts(t).get("idle_timeout", 0) - closed_before == N
        wait_until(lambda: not (set(tids) & mariadb.thread_ids()), 5,
                   "the server's PROCESSLIST to lose the 3 leaked sessions")
        assert not mariadb.processlist("app"), mariadb.processlist("app")
        assert mariadb.status("Aborted_clients") == aborted_clients, \
            "server counted aborted clients: tether closed the idle sessions without COM_QUIT"
        # tether closed its side, so even this buggy tunnel has now let go of its links
        wait_until(lambda: tunnel.held_upstream() == 0, 5, "the tunnel's links to be closed by tether")
        for where, text in (("log", t.log()), ("/metrics", t.metrics_text())):
            for literal in LITERALS:
                assert literal not in text, f"the literal {literal!r} is in tether's {where}"
        m = t.metrics()
        for fam in ("tether_client_connections", "tether_leak_suspects",
                    "tether_client_max_idle_seconds", "tether_idle_in_transaction"):
            assert not m.series(fam, client=CLIENT), f"{fam} still has {CLIENT}: {m.series(fam)}"

        by_id = {s.get("id"): s for s in sus}
        print(f"\n[leaky tunnel] all {N} suspects by /metrics {t_all_suspect - max(dropped.values()):.1f}s"
              f" and closed {t_all_closed - max(dropped.values()):.1f}s after the clients left")
        for c in sorted(closed, key=lambda c: c.get("id")):
            tid = ids[c.get("id")]
            i = tids.index(tid)
            print(f"[leaky tunnel] session id={c.get('id')} thread={tid}: idle since its last query; "
                  f"suspect after {by_id[c.get('id')].ts - query_done[i]:.1f}s "
                  f"(client gone {dropped[tid] - query_done[i]:.1f}s after the query), "
                  f"closed after {c.ts - query_done[i]:.1f}s (idle_timeout)")
    finally:
        tunnel.close()
