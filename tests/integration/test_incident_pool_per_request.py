"""The second incident (seeds: "使用数据库连接池场景下的 too many connections 问题排查"): an endpoint built
a NEW HikariCP DataSource on every request and never closed it, so each request left a pool of idle
connections behind until MySQL refused everyone ("Could not create connection to database server"),
other applications included.

tests/integration/java/LeakyPools.java is that application: MariaDB Connector/J with
connectionAttributes=program_name:report-service, a fresh 3-connection pool every 150 ms, never
closed. In front of it tether runs with --max-connections-per-client 10: the leak must be visible
by name within seconds, be held at 10 (never more on tether or on the server), be refused with a
real MySQL error the application logs, while other clients and the admin user still get in; and
when the JVM is SIGKILLed everything it held must be gone from the server."""
import signal
import subprocess
import threading
import time

import pymysql
import pytest

from helpers import wait_until
from incident_support import LineReader, build_java, events, lines_naming

CLIENT = "report-service"
CAP = 10
TOTAL = 11  # CAP for report-service + 1 for billing-api: full, so a 12th non-admin login is refused


def gauge(m):
    return m.value("tether_client_connections", client=CLIENT, user="app")


def test_new_hikari_pool_per_request(tether, mariadb, tmp_path):
    cp = build_java("LeakyPools", tmp_path / "classes")
    t = tether(max_connections_per_client=CAP, max_connections=TOTAL, admin_users="dba")
    orphans_before = t.metrics().value("tether_orphans_closed_total")
    url = (f"jdbc:mariadb://{t.host}:{t.port}/tether_test"
           f"?connectionAttributes=program_name:{CLIENT}&connectTimeout=5000")
    argv = ["java", "-Xss512k", "-XX:TieredStopAtLevel=1", "-cp", cp, "LeakyPools", url, "app", "apppw",
            "150", "3", "60"]
    started = time.time()
    java = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    out = LineReader(java.stdout)
    billing = dba = None
    # every 100 ms from launch to SIGKILL: report-service's sessions on tether and 'app' rows on
    # the server - neither may ever exceed the cap
    peaks = {"tether": 0, "server": 0, "samples": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                peaks["tether"] = max(peaks["tether"], gauge(t.metrics()))
                peaks["server"] = max(peaks["server"], len(mariadb.processlist("app")))
                peaks["samples"] += 1
            except Exception:  # a failed probe is just a missed sample
                pass
            stop.wait(0.1)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        # 1. the leak is visible by name within seconds: the gauge rises, a log line names it
        wait_until(lambda: java.poll() is None and gauge(t.metrics()) >= 1, 30,
                   f'tether_client_connections{{client="{CLIENT}",user="app"}} >= 1; java: '
                   f"{out.snapshot()[-5:]}")
        t_seen = time.time()
        wait_until(lambda: gauge(t.metrics()) >= 4, 10, "the gauge to keep rising (a 2nd pool)")
        wait_until(lambda: lines_naming(t, CLIENT), 5, f"a tether log line naming {CLIENT}")

        # 2. held at the cap
        wait_until(lambda: gauge(t.metrics()) == CAP, 20, f"the gauge to reach {CAP}")
        t_cap = time.time()
        wait_until(lambda: t.metrics().value("tether_rejected_connections_total", client=CLIENT,
                                             user="app", limit="client") > 0, 10,
                   f'tether_rejected_connections_total{{client="{CLIENT}",limit="client"}} > 0')
        t_rejected = time.time()
        rej = wait_until(lambda: events(t, "connection_rejected", client=CLIENT), 5,
                         f"a connection_rejected log line naming {CLIENT}")
        assert rej[0].level == "warn" and rej[0].get("user") == "app", rej[0].raw
        assert rej[0].get("limit") == "client", rej[0].raw
        # the application sees a real MySQL error it can log (Hikari gives up on a request after
        # its 1 s connectionTimeout and reports the driver's last error), and keeps going
        f1203 = wait_until(lambda: [f for f in out.matching("FAIL ") if f.split()[3] == "1203"], 10,
                           f"the Java program to log a request failed with 1203: "
                           f"{out.snapshot()[-5:]}")
        assert f"already has {CAP} connections: --max-connections-per-client {CAP}" in f1203[0], f1203[0]
        assert f"client '{CLIENT}'" in f1203[0] and f1203[0].split()[4] == "42000", f1203[0]

        # 3. for 5 s more the leak keeps pushing (sampled in the background); meanwhile another
        #    application and the DBA still get in
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if billing is None:
                billing = t.connect(user="other", password="otherpw", program_name="billing-api")
                with billing.cursor() as cur:
                    cur.execute("SELECT CURRENT_USER(), COUNT(*) > 0 FROM items")
                    assert cur.fetchone() == ("other@%", 1)
                # the total cap is now full: a further non-admin login is refused with 1040 ...
                with pytest.raises(pymysql.err.OperationalError) as e:
                    t.connect(user="other", password="otherpw", program_name="billing-api").close()
                assert e.value.args[0] == 1040, e.value.args
                assert f"--max-connections {TOTAL}" in e.value.args[1], e.value.args
                # ... but the admin user is not: it logs in and can look at the server
                dba = t.connect(user="dba", password="dbapw", program_name="dba-console")
                with dba.cursor() as cur:
                    cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER='app'")
                    assert 0 < cur.fetchone()[0] <= CAP
            time.sleep(0.1)
        peak_tether, peak_server, samples = peaks["tether"], peaks["server"], peaks["samples"]
        assert samples >= 40, peaks
        assert peak_tether == CAP, f"tether's gauge peaked at {peak_tether} (cap {CAP})"
        assert 0 < peak_server <= CAP, f"the server had {peak_server} 'app' sessions (cap {CAP})"
        assert java.poll() is None, f"the Java program died: {out.snapshot()[-10:]}"
        m = t.metrics()
        assert m.value("tether_client_connections", client="billing-api", user="other") == 1
        assert m.value("tether_client_connections", client="dba-console", user="dba") == 1
        assert m.value("tether_rejected_connections_total", client="billing-api", user="other",
                       limit="total") >= 1
        assert m.sum("tether_rejected_connections_total", client="dba-console") == 0

        oks, fails = out.matching("OK "), out.matching("FAIL ")
        assert len(oks) >= 4, out.snapshot()[-10:]
        # once the total cap is full too, the refusals may name either cap - but always this client
        assert all(f"'{CLIENT}'" in f and f.split()[3] in ("1203", "1040") for f in fails), fails

        # 4. SIGKILL the JVM: everything it held goes away
        tids = {r["ID"] for r in mariadb.processlist("app")}
        assert tids
        java.send_signal(signal.SIGKILL)
        java.wait(10)
        stop.set()
        sampler.join(5)
        assert peaks["tether"] == CAP and peaks["server"] <= CAP, peaks
        killed = time.time()
        wait_until(lambda: not mariadb.processlist("app"), 10,
                   "no 'app' rows left in the server's PROCESSLIST")
        t_server_clean = time.time()
        wait_until(lambda: not t.metrics().series("tether_client_connections", client=CLIENT), 10,
                   f"the tether_client_connections series for {CLIENT} to disappear")
        m = t.metrics()
        assert m.value("tether_orphans_closed_total") - orphans_before >= CAP, \
            f"orphans closed: {m.value('tether_orphans_closed_total') - orphans_before}"
        for fam in ("tether_leak_suspects", "tether_client_max_idle_seconds",
                    "tether_idle_in_transaction"):
            assert not m.series(fam, client=CLIENT), m.series(fam)
        # the other sessions were untouched
        with billing.cursor() as cur:
            cur.execute("SELECT 1")
        assert m.value("tether_client_connections", client="billing-api", user="other") == 1

        java_start = next((float(ln.split()[1]) / 1000 for _, ln in out.snapshot()
                           if ln.startswith("START ")), started)
        print(f"\n[pool per request] JVM main() {java_start - started:.2f}s after launch; "
              f"tether's metrics showed {CLIENT} {t_seen - started:.2f}s after launch "
              f"({t_seen - java_start:.2f}s after main()); cap {CAP} hit {t_cap - started:.2f}s "
              f"after launch ({t_cap - java_start:.2f}s after main()); first rejection counted by "
              f"{t_rejected - started:.2f}s; sampled {samples}x: peak {peak_tether:.0f} on tether, "
              f"{peak_server} on the server; requests ok={len(oks)} failed={len(fails)}; after "
              f"SIGKILL the server was clean in {t_server_clean - killed:.2f}s, orphans closed "
              f"{m.value('tether_orphans_closed_total') - orphans_before:.0f}")
    finally:
        stop.set()
        if java.poll() is None:
            java.kill()
            java.wait(10)
        for c in (billing, dba):
            if c is not None:
                c.close()
