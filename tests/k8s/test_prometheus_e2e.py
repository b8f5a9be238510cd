"""End to end: a real Prometheus scrapes a real tether in front of a real MariaDB while an app leaks.

One scenario runs once for the module (about 40 s), then the tests read what Prometheus saw:

- MariaDB: the integration suite's private server (tests/integration/mariadb_server.py).
- tether (TETHER_BIN): --leak-idle-threshold 1s, --max-connections-per-client 40 (CAP).
- Before Prometheus starts, so their series are flat from the first sample: "steady-app", a pool of 4
  connections that stays at 4 and queries each one several times a second (never idle, never a
  suspect), and "txn-app", one session that opens a transaction, locks a row and then sits idle in it.
- Prometheus (/usr/bin/prometheus, Debian's package) on 127.0.0.1 with a free port and a private TSDB in
  a temporary directory: scrape_interval and evaluation_interval 1s, one static target (tether's admin
  port) with the labels the Kubernetes relabelling gives a pod (namespace, pod, container; job tether).
- Once Prometheus has scraped tether: "orphan-app" connects, queries and drops its socket without
  COM_QUIT (an orphan). Then "leaky-app" starts the pool-per-request leak: a new connection about once
  a second, one query on each, none ever closed. When both growth alerts fire for it, it leaks faster
  until tether's per-client cap refuses it (ERR 1203, a rejection). Then the server itself refuses:
  max_connections is lowered below what is open for a moment and one more client ("refused-app")
  connects through tether and gets the server's ERR 1040 (an upstream refusal).

The rule file Prometheus loads is derived by this test from deploy/k8s/prometheus/tether-rules.yaml,
the one source of truth, with time compressed 60 times so the real expressions fire in seconds:
  - every range `[Nm]` becomes `[Ns]` (any `[N<unit>]` becomes its length in seconds / 60, as seconds),
    every `offset Nm` becomes `offset Ns`, every `for: Nm` becomes `for: Ns`;
  - the two constants that are durations in seconds shrink the same way: predict_linear's horizon
    (1800 -> 30) and a threshold on a `*_seconds` series (tether_client_max_idle_seconds > 1800 -> > 30).
Nothing else changes: the thresholds stay as they are, including the `* 60` that makes rates per
minute. They are still per real minute, and a leak of about one connection a second (60 a minute) is
far above every per-minute threshold, while the steady pool (no growth at all) stays below every one.

Assertions: TetherClientConnectionsGrowing and TetherClientConnectionLeak become pending, then firing,
for client="leaky-app" and for no other client (the seconds from the leak's start are printed); every
alert expression (as written, and as compressed) evaluates through /api/v1/query, and every vector
selector inside it (found by a small PromQL tokenizer) matches series tether exported; every template
variable query and every dashboard panel query returns data; the conditions the test made (orphan,
rejection, refusal with code 1040, idle in transaction, the configured cap) show in Prometheus.

Panels that have data here only because tether exports the counter at zero from its start (a rate of
0 is data): upstream unreachable, protocol desyncs and accept errors. The test does not provoke them
(the promtool unit tests in tether-rules.test.yaml cover their alerts).

Run:  TETHER_BIN=$PWD/build/tether /usr/bin/python3 -m pytest -q tests/k8s -k prometheus_e2e
"""
import atexit
import contextlib
import ctypes
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pymysql
import pytest
import yaml

sys.dont_write_bytecode = True

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))

from mariadb_server import DATABASE, MariaDB, free_port  # noqa: E402
from tether_proc import Tether, clean_env, tether_binary  # noqa: E402

RULES = REPO / "deploy" / "k8s" / "prometheus" / "tether-rules.yaml"
DASHBOARD = REPO / "dashboards" / "tether.json"
PROMETHEUS = "/usr/bin/prometheus"

CAP = 40  # --max-connections-per-client: far enough for the leak to fire before it reaches it
NAMESPACE = "shop"
POD = "shop-api-6f7c9d8b5-x2kqp"
LEAKY, STEADY, TXN, ORPHAN, REFUSED = "leaky-app", "steady-app", "txn-app", "orphan-app", "refused-app"
STEADY_POOL = 4
GROWTH_ALERTS = ("TetherClientConnectionsGrowing", "TetherClientConnectionLeak")
SCRAPE = 1  # seconds, scrape and evaluation interval
# Grafana's $__rate_interval is max($__interval + scrape interval, 4 x scrape interval); with a 1 s
# scrape and a 1 s step that is 4 s.
RATE_INTERVAL = f"{4 * SCRAPE}s"
LEAK_FIRING_TIMEOUT = 40  # s from the leak's start; the cap stops the growth at about CAP seconds


# ---- the rule file, time-compressed -----------------------------------------------------------------

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
COMPRESSION = 60


def compressed_duration(text):
    """'10m' -> '10s': a duration 60 times shorter, in whole seconds."""
    m = re.fullmatch(r"(\d+)([smhd])", text)
    assert m, f"unexpected duration {text!r} in {RULES.name}"
    seconds = int(m[1]) * UNIT_SECONDS[m[2]]
    assert seconds % COMPRESSION == 0, f"{text} does not compress to whole seconds"
    return f"{seconds // COMPRESSION}s"


def compressed_seconds(text):
    seconds = int(text)
    assert seconds % COMPRESSION == 0, f"{text} s does not compress to whole seconds"
    return str(seconds // COMPRESSION)


def compressed_expr(expr):
    expr = re.sub(r"\[(\d+[smhd])\]", lambda m: f"[{compressed_duration(m[1])}]", expr)
    expr = re.sub(r"\boffset\s+(\d+[smhd])\b", lambda m: f"offset {compressed_duration(m[1])}", expr)
    expr = re.sub(r"(predict_linear\([^,()]+\[\w+\]\s*,\s*)(\d+)(\s*\))",
                  lambda m: m[1] + compressed_seconds(m[2]) + m[3], expr)
    expr = re.sub(r"(_seconds\s*>\s*)(\d+)\b", lambda m: m[1] + compressed_seconds(m[2]), expr)
    return expr


def compressed_rules(source):
    out = {"groups": []}
    for group in source["groups"]:
        rules = []
        for rule in group["rules"]:
            rule = dict(rule)
            rule["expr"] = compressed_expr(rule["expr"])
            if "for" in rule:
                rule["for"] = compressed_duration(rule["for"])
            rules.append(rule)
        out["groups"].append({**group, "rules": rules})
    return out


def source_rules():
    return yaml.safe_load(RULES.read_text())


def alert_rules(rules):
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


# ---- PromQL vector selectors ------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>\d+(?:\.\d+)?(?:[smhdwy]|ms)?\b)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],])
""", re.X)
# Keywords that are followed by a parenthesised list of label names, not by an expression.
_LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = _LABEL_LIST_KEYWORDS | {"and", "or", "unless", "offset", "bool"}


def _tokens(expr):
    pos, out = 0, []
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot tokenize {expr[pos:pos + 20]!r} in {expr!r}")
        if m.lastgroup != "space":
            out.append((m.lastgroup, m[0]))
        pos = m.end()
    return out


def vector_selectors(expr):
    """The instant-vector selectors in a PromQL expression, as text: `name` or `name{matchers}`.
    An identifier followed by "(" (or by by/without) is a function or an aggregation, one after
    by/on/... is inside a label list, one inside {} is a label name, keywords are keywords; the rest
    are metric names."""
    tokens = _tokens(expr)
    selectors = []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if kind == "ident" and text in _LABEL_LIST_KEYWORDS and nxt == "(":
            i = next(j for j in range(i, len(tokens)) if tokens[j][1] == ")") + 1
            continue
        if kind == "ident" and text not in _KEYWORDS and nxt not in ("(", "by", "without"):
            selector = text
            i += 1
            if nxt == "{":
                end = next(j for j in range(i, len(tokens)) if tokens[j][1] == "}")
                matchers = [t for _, t in tokens[i + 1:end]]
                selector += "{" + "".join(m + " " if m == "," else m for m in matchers).strip() + "}"
                i = end + 1
            selectors.append(selector)
            continue
        assert not (kind == "op" and text == "{"), f"a selector without a metric name in {expr!r}"
        i += 1
    return selectors


def test_the_selector_tokenizer_finds_metrics_not_functions_keywords_or_labels():
    expr = ('sum by (namespace, pod) (rate(a_total{reason="x,}y", job=~".*t.*"}[5m] offset 10m)) * 60 > 1\n'
            'and on(job) group_left() (b > 0 or on(job, instance) (0 * c + 100)) unless up{job="j"} == 0')
    # (the string "x,}y" must not end the matchers early)
    assert vector_selectors(expr) == ['a_total{reason="x,}y", job=~".*t.*"}', "b", "c", 'up{job="j"}']
    found = {s for r in alert_rules(source_rules()) for s in vector_selectors(r["expr"])}
    assert {"tether_client_connections", "tether_leak_suspects", 'up{job=~".*tether.*"}',
            'tether_connection_limit{limit="client"}'} <= found, found


def test_the_compressed_rules_change_only_durations():
    source = alert_rules(source_rules())
    rules = alert_rules(compressed_rules(source_rules()))
    assert len(rules) == len(source)
    for before, after in zip(source, rules):
        assert not re.search(r"\[\d+[mhd]\]|offset \d+[mhd]\b", after["expr"]), after["expr"]
        assert vector_selectors(after["expr"]) == vector_selectors(before["expr"]), before["alert"]
        # outside the durations, every number is unchanged: the thresholds and the * 60
        strip = lambda e: re.sub(r"\[\w+\]|offset \w+|predict_linear\(.*?\)|_seconds > \d+", "", e)  # noqa: E731
        assert strip(after["expr"]) == strip(before["expr"]), before["alert"]
    leak = next(r for r in rules if r["alert"] == "TetherClientConnectionLeak")
    assert "deriv(tether_client_connections[5s]) * 60 > 0.5" in leak["expr"] and leak["for"] == "10s"
    near = next(r for r in rules if r["alert"] == "TetherClientConnectionsNearLimit")
    assert "predict_linear(tether_client_connections[30s], 30)" in near["expr"], near["expr"]
    suspects = next(r for r in rules if r["alert"] == "TetherLeakSuspects")
    assert "tether_client_max_idle_seconds > 30" in suspects["expr"], suspects["expr"]


# ---- processes --------------------------------------------------------------------------------------


def _die_with_parent():
    """In the child before exec: SIGTERM it when the test process dies, however it dies (even SIGKILL)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class PrometheusServer:
    """/usr/bin/prometheus on 127.0.0.1:<free port> with a private TSDB, scraping one tether."""

    def __init__(self, workdir, tether_admin_port, rules):
        self.dir = pathlib.Path(workdir)
        self.port = free_port()
        (self.dir / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
        config = {
            "global": {"scrape_interval": f"{SCRAPE}s", "scrape_timeout": f"{SCRAPE}s",
                       "evaluation_interval": f"{SCRAPE}s"},
            "rule_files": ["rules.yaml"],
            "scrape_configs": [{
                "job_name": "tether",
                "static_configs": [{
                    "targets": [f"127.0.0.1:{tether_admin_port}"],
                    # what the PodMonitor / the relabelling in prometheus.yml give a pod's target
                    "labels": {"namespace": NAMESPACE, "pod": POD, "container": "tether"},
                }],
            }],
        }
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.log_path = self.dir / "prometheus.log"
        self.proc = None

    def start(self, timeout=30):
        assert os.access(PROMETHEUS, os.X_OK), f"{PROMETHEUS} missing: run scripts/bootstrap (package prometheus)"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.dir / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.dir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--storage.tsdb.retention.time=1h", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, start_new_session=True,
            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"prometheus exited with {self.proc.returncode}:\n{self.log()}"
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            assert time.monotonic() < deadline, f"prometheus not ready after {timeout}s:\n{self.log()}"
            time.sleep(0.1)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self._log.close()
        self.proc = None

    def log(self):
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def api(self, path, **params):
        """GET /api/v1/<path>?<params> (lists repeat); the decoded JSON body, whatever the status
        (Prometheus says why in it)."""
        query = urllib.parse.urlencode(params, doseq=True)
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read() or b"{}") | {"http_status": e.code}

    def query(self, expr, at):
        return self.api("query", query=expr, time=f"{at:.3f}")

    def value(self, expr, at=None):
        """The single value of an instant query, or None."""
        result = self.query(expr, at or time.time())
        series = result.get("data", {}).get("result", [])
        return float(series[0]["value"][1]) if len(series) == 1 else None


class TetherProcess(Tether):
    """The integration suite's Tether, started so that it also dies with the test process."""

    def start(self, wait=True, timeout=10):
        assert os.access(tether_binary(), os.X_OK), f"{tether_binary()}: build tether or set TETHER_BIN"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     env=clean_env(self.env), preexec_fn=_die_with_parent)
        self.wait_healthy(timeout)
        return self


class AlertWatch(threading.Thread):
    """Polls /api/v1/alerts every 0.2 s; remembers when each (alertname, client, state) was first seen
    (time.monotonic()) and every label set of every active alert."""

    def __init__(self, prometheus):
        super().__init__(daemon=True, name="alert-watch")
        self.prometheus = prometheus
        self.first_seen = {}
        self.label_sets = []
        self.errors = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                alerts = self.prometheus.api("alerts")["data"]["alerts"]
            except Exception as e:  # noqa: BLE001 (report, keep polling)
                self.errors.append(repr(e))
                alerts = []
            now = time.monotonic()
            with self.lock:
                for alert in alerts:
                    labels = alert["labels"]
                    self.first_seen.setdefault((labels["alertname"], labels.get("client", ""), alert["state"]), now)
                    if labels not in self.label_sets:
                        self.label_sets.append(labels)
            self.stopping.wait(0.2)

    def seen(self, alertname, client, state):
        with self.lock:
            return self.first_seen.get((alertname, client, state))

    def clients(self, alertname):
        with self.lock:
            return {client for (name, client, _) in self.first_seen if name == alertname}

    def stop(self):
        self.stopping.set()
        self.join(10)


def connect(tether, program_name, **kw):
    return pymysql.connect(host="127.0.0.1", port=tether.port, user="app", password="apppw",
                           database=DATABASE, program_name=program_name, connect_timeout=10,
                           read_timeout=30, write_timeout=30, autocommit=True, **kw)


class SteadyPool(threading.Thread):
    """A well-behaved pool: STEADY_POOL connections opened once, kept, and used in turn many times a
    second, so none is ever idle past the leak threshold and the count never moves."""

    def __init__(self, tether):
        super().__init__(daemon=True, name="steady-pool")
        self.connections = [connect(tether, STEADY) for _ in range(STEADY_POOL)]
        self.errors = []
        self.queries = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            for c in self.connections:
                try:
                    with c.cursor() as cur:
                        cur.execute("SELECT COUNT(*) FROM fruits")
                        cur.fetchall()
                    self.queries += 1
                except pymysql.MySQLError as e:
                    self.errors.append(e.args)
                if self.stopping.wait(0.05):
                    break


class LeakyApp(threading.Thread):
    """The pool-per-request leak: a new connection every `interval` s, one query, never closed. Stops at
    the first refusal by tether's per-client cap (ERR 1203)."""

    def __init__(self, tether):
        super().__init__(daemon=True, name="leaky-app")
        self.tether = tether
        self.interval = 1.0
        self.connections = []
        self.started = None  # time.monotonic() of the first leaked connection
        self.refusal = None  # (code, message, when) of the cap's refusal
        self.errors = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                c = connect(self.tether, LEAKY)
                with c.cursor() as cur:
                    cur.execute("SELECT id, name, qty FROM fruits ORDER BY id")
                    cur.fetchall()
                self.connections.append(c)
                if self.started is None:
                    self.started = time.monotonic()
            except pymysql.MySQLError as e:
                if e.args and e.args[0] == 1203:
                    self.refusal = (e.args[0], e.args[1], time.monotonic())
                    return
                self.errors.append(e.args)
            self.stopping.wait(self.interval)


def wait_for(predicate, timeout, interval=0.1):
    """Poll until predicate() is truthy or `timeout` s pass; return its last value (no raise: the tests
    say what was missing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


@pytest.fixture(scope="module")
def scenario():
    """Runs the scenario in the module docstring; yields its facts with Prometheus still running.
    Every process it started is stopped on any exit (and at interpreter exit as a last resort)."""
    assert shutil.which(PROMETHEUS), f"{PROMETHEUS} missing: run scripts/bootstrap (package prometheus)"
    workdir = tempfile.mkdtemp(prefix="tether-e2e-prom-", dir="/tmp")
    cleanups = contextlib.ExitStack()
    cleanups.callback(shutil.rmtree, workdir, ignore_errors=True)
    atexit.register(cleanups.close)
    began = time.monotonic()
    facts = {"workdir": workdir, "phases": []}

    def mark(phase):
        facts["phases"].append(f"{phase} {time.monotonic() - began:.1f}")

    try:
        db = MariaDB().start()
        cleanups.callback(db.stop)
        mark("mariadb")
        tether = TetherProcess(f"127.0.0.1:{db.port}", workdir, flags={
            "leak_idle_threshold": "1s",
            "max_connections_per_client": CAP,
            "log_level": "info",
        })
        tether.start()

        def stop_tether():  # after the clients closed: a clean drain, exit 0
            code = tether.stop()
            assert code == 0, f"tether exited with {code} after SIGTERM:\n{tether.log()[-4000:]}"
        cleanups.callback(stop_tether)

        steady = SteadyPool(tether)
        cleanups.callback(lambda: [c.close() for c in steady.connections])
        steady.start()
        cleanups.callback(steady.join, 5)
        cleanups.callback(steady.stopping.set)

        txn = connect(tether, TXN)
        cleanups.callback(txn.close)
        txn.begin()
        with txn.cursor() as cur:  # a row lock held by a session that then goes quiet
            cur.execute("SELECT qty FROM items WHERE id = 1 FOR UPDATE")
            cur.fetchall()

        prometheus = PrometheusServer(workdir, tether.admin_port, compressed_rules(source_rules())).start()
        cleanups.callback(prometheus.stop)
        watch = AlertWatch(prometheus)
        watch.start()
        cleanups.callback(watch.stop)
        assert wait_for(lambda: prometheus.value('up{job="tether"}') == 1, 15), \
            f"Prometheus never scraped tether:\n{prometheus.log()}"
        facts["start"] = time.time() - SCRAPE
        mark("prometheus")

        # An orphan: a client that vanishes without COM_QUIT.
        orphans_before = tether.metrics().value("tether_orphans_closed_total")
        orphan = connect(tether, ORPHAN)
        with orphan.cursor() as cur:
            cur.execute("SELECT 1")
        orphan._force_close()  # the socket closes; no COM_QUIT is sent
        facts["orphan_counted"] = wait_for(
            lambda: tether.metrics().value("tether_orphans_closed_total") > orphans_before, 5)

        leak = LeakyApp(tether)
        cleanups.callback(lambda: [c.close() for c in leak.connections])
        leak.start()
        cleanups.callback(leak.join, 5)
        cleanups.callback(leak.stopping.set)
        wait_for(lambda: leak.started, 10)
        wait_for(lambda: all(watch.seen(a, LEAKY, "firing") for a in GROWTH_ALERTS) or leak.refusal,
                 LEAK_FIRING_TIMEOUT, interval=0.2)
        facts["leak_connections_when_fired"] = len(leak.connections)
        mark("fired")

        # The leak goes on, faster, until tether's per-client cap refuses it.
        leak.interval = 0.05
        leak.join(30)
        facts["cap_refusal"] = leak.refusal
        mark("cap")

        # The server refuses tether: fewer connections allowed than are open, one more client.
        # Root's session is opened first: once more are open than allowed, even the slot the server
        # keeps for SUPER is taken.
        root = db.connect_root()
        with root, root.cursor() as cur:
            cur.execute("SELECT @@global.max_connections")
            old = cur.fetchone()[0]
            try:
                cur.execute("SET GLOBAL max_connections = 10")  # MariaDB's minimum; over 40 are open
                try:
                    connect(tether, REFUSED).close()
                    facts["server_refusal"] = None
                except pymysql.MySQLError as e:
                    facts["server_refusal"] = e.args
            finally:
                cur.execute(f"SET GLOBAL max_connections = {int(old)}")

        # Let Prometheus take a few samples of the newest series (a rate needs two) and evaluate the
        # rules on them.
        wait_for(lambda: watch.clients("TetherConnectionsRejected") and watch.clients("TetherUpstreamRefusing")
                 and all(watch.seen(a, TXN, "firing") for a in ["TetherIdleInTransaction"]), 10)
        time.sleep(3 * SCRAPE)
        facts["end"] = time.time()
        watch.stop()  # the alert history is complete: the tests read it without a moving writer
        mark("settled")

        facts.update(db=db, tether=tether, prometheus=prometheus, watch=watch, leak=leak, steady=steady)
        yield facts
    finally:
        cleanups.close()
        atexit.unregister(cleanups.close)


def since_leak(scenario, alertname, state):
    seen = scenario["watch"].seen(alertname, LEAKY, state)
    return None if seen is None else seen - scenario["leak"].started


# ---- the tests --------------------------------------------------------------------------------------


def test_the_leak_goes_pending_then_firing_and_the_steady_pool_never_does(scenario, capsys):
    watch, leak = scenario["watch"], scenario["leak"]
    assert not leak.errors and not scenario["steady"].errors, (leak.errors, scenario["steady"].errors)
    assert scenario["steady"].queries > 100, "the steady pool did not run"
    lines = []
    for alert in GROWTH_ALERTS:
        pending, firing = since_leak(scenario, alert, "pending"), since_leak(scenario, alert, "firing")
        assert pending is not None, f"{alert} never became pending for {LEAKY}; seen: {sorted(watch.first_seen)}"
        assert firing is not None, f"{alert} never fired for {LEAKY}; seen: {sorted(watch.first_seen)}"
        assert pending < firing, (alert, pending, firing)
        assert watch.clients(alert) == {LEAKY}, f"{alert} for other clients: {watch.clients(alert)}"
        lines.append(f"{alert}{{client=\"{LEAKY}\"}}: pending {pending:.1f} s, firing {firing:.1f} s")
    with capsys.disabled():
        print("\n[prometheus e2e] from the leak's first connection (about 1 a second; rules time-compressed"
              " 60x, e.g. for 15m -> 15s):\n  " + "\n  ".join(lines)
              + f"\n  {scenario['leak_connections_when_fired']} connections leaked by then; scenario phases"
              " done at " + ", ".join(scenario["phases"]) + " s")


def test_every_alert_expression_evaluates_and_every_series_it_selects_exists(scenario):
    prometheus, start, end = scenario["prometheus"], scenario["start"], scenario["end"]
    problems = []
    compressed = {r["alert"]: r["expr"] for r in alert_rules(compressed_rules(source_rules()))}
    for rule in alert_rules(source_rules()):
        for version, expr in (("as written", rule["expr"]), ("compressed", compressed[rule["alert"]])):
            result = prometheus.query(expr, end)
            if result.get("status") != "success":
                problems.append(f"{rule['alert']} ({version}): {result.get('error')}")
        for selector in dict.fromkeys(vector_selectors(rule["expr"])):
            found = prometheus.api("series", **{"match[]": selector, "start": start, "end": end})
            if found.get("status") != "success" or not found["data"]:
                problems.append(f"{rule['alert']}: no series {selector} ({found.get('error', 'none exported')})")
    loaded = [r for g in prometheus.api("rules")["data"]["groups"] for r in g["rules"]]
    assert len(loaded) == len(alert_rules(source_rules())), "Prometheus did not load every rule"
    problems += [f"{r['name']}: evaluation {r['health']}: {r.get('lastError')}" for r in loaded if r["health"] != "ok"]
    assert not problems, "\n".join(problems)


def dashboard():
    return json.loads(DASHBOARD.read_text())


def panels(items):
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


def grafana_to_promql(expr, step, client=".*"):
    """A query as Grafana sends it: one namespace and pod chosen, client at All (its allValue .*)
    unless one is given."""
    values = {"namespace": NAMESPACE, "pod": POD, "client": client, "__rate_interval": RATE_INTERVAL,
              "__interval": f"{step}s", "__range": None}
    for name, value in values.items():
        if value is not None:
            expr = re.sub(r"\$\{?" + re.escape(name) + r"\}?(?![A-Za-z0-9_])", value, expr)
    assert "$" not in expr, f"a dashboard variable this test does not know: {expr}"
    return expr


def test_every_template_variable_finds_the_namespace_pod_and_clients(scenario):
    prometheus, start, end = scenario["prometheus"], scenario["start"], scenario["end"]
    expected = {"namespace": {NAMESPACE}, "pod": {POD}, "client": {LEAKY, STEADY, TXN}}
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", variable["query"]["query"])
        assert m, variable["query"]
        selector, label = grafana_to_promql(m[1], SCRAPE), m[2]
        found = prometheus.api(f"label/{label}/values", **{"match[]": selector, "start": start, "end": end})
        assert found.get("status") == "success", found
        assert expected[variable["name"]] <= set(found["data"]), (variable["name"], found["data"])


def panel_result(scenario, target, client=".*"):
    """(query, result) of one panel target over the scenario, as Grafana would ask: an instant query
    at the end for an instant panel, else a range query over the whole run at the scrape interval."""
    prometheus, start, end = scenario["prometheus"], scenario["start"], scenario["end"]
    expr = grafana_to_promql(target["expr"], SCRAPE, client)
    if target.get("instant") and not target.get("range"):
        return expr, prometheus.query(expr, end)
    return expr, prometheus.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}",
                                step=str(SCRAPE))


def test_every_dashboard_panel_query_returns_data(scenario):
    empty, checked = [], 0
    for panel in panels(dashboard()["panels"]):
        for target in panel.get("targets", []):
            expr, result = panel_result(scenario, target)
            checked += 1
            if result.get("status") != "success" or not result["data"]["result"]:
                empty.append(f"{panel['title']!r}: {expr} -> {result.get('error') or 'no data'}")
    assert checked >= 20
    assert not empty, "panels without data:\n" + "\n".join(empty)


def test_choosing_a_client_narrows_the_panels_to_it(scenario):
    checked = 0
    for panel in panels(dashboard()["panels"]):
        for target in panel.get("targets", []):
            if "$client" not in target["expr"]:
                continue
            expr, result = panel_result(scenario, target, client=LEAKY)
            series = result.get("data", {}).get("result", [])
            assert series, f"{panel['title']!r} has no data for {LEAKY}: {expr}"
            clients = {s["metric"].get("client") for s in series}
            assert clients <= {LEAKY, None}, f"{panel['title']!r} with client {LEAKY} shows {clients}"
            checked += 1
    assert checked >= 5


def test_the_conditions_the_test_made_show_in_prometheus(scenario):
    prometheus, end = scenario["prometheus"], scenario["end"]
    assert scenario["orphan_counted"], "tether did not count the orphan"
    assert prometheus.value("tether_orphans_closed_total", end) >= 1
    assert scenario["cap_refusal"] and scenario["cap_refusal"][0] == 1203, scenario["cap_refusal"]
    assert prometheus.value(f'tether_rejected_connections_total{{client="{LEAKY}", limit="client"}}', end) >= 1
    assert prometheus.value(f'tether_client_connections{{client="{LEAKY}"}}', end) == CAP
    assert prometheus.value(f'tether_client_connections{{client="{STEADY}"}}', end) == STEADY_POOL
    assert prometheus.value(f'tether_idle_in_transaction{{client="{TXN}"}}', end) == 1
    assert scenario["server_refusal"] and scenario["server_refusal"][0] == 1040, scenario["server_refusal"]
    watch = scenario["watch"]
    assert watch.seen("TetherIdleInTransaction", TXN, "firing"), sorted(watch.first_seen)
    assert watch.seen("TetherConnectionsRejected", LEAKY, "firing"), sorted(watch.first_seen)
    assert watch.clients("TetherUpstreamRefusing"), sorted(watch.first_seen)


def test_the_refusal_code_and_the_configured_cap_are_exported(scenario):
    """tether_upstream_refusals_total{code} and tether_connection_limit{limit} (issue 8): the server's
    error code reaches the series and the alert, and the one cap that is set is exported, the others not."""
    prometheus, end = scenario["prometheus"], scenario["end"]
    assert (prometheus.value('tether_upstream_refusals_total{code="1040"}', end) or 0) >= 1, \
        prometheus.query("tether_upstream_refusals_total", end)["data"]["result"]
    refusing = [ls for ls in scenario["watch"].label_sets if ls["alertname"] == "TetherUpstreamRefusing"]
    assert refusing and all(ls.get("code") == "1040" for ls in refusing), refusing
    assert prometheus.value('tether_connection_limit{limit="client"}', end) == CAP, \
        prometheus.query("tether_connection_limit", end)["data"]["result"]
    assert not prometheus.query('tether_connection_limit{limit=~"total|user"}', end)["data"]["result"]
