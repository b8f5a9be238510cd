"""The client label: --client-label tried in order (attr:NAME, user, addr); default
attr:program_name,addr."""
import pytest

from helpers import wait_until


def gauge_series(t, **labels):
    return {tuple(sorted(dict(k[1]).items())): v
            for k, v in t.metrics().series("tether_client_connections", **labels).items()}


def wait_gauge(t, value, **labels):
    return wait_until(lambda: t.metrics().value("tether_client_connections", **labels) == value, 5,
                      f"tether_client_connections{labels} == {value}")


def test_program_name_attribute_is_the_client(tether):
    t = tether()
    conn = t.connect(program_name="billing-api")
    try:
        wait_gauge(t, 1, client="billing-api", user="app")
        m = t.metrics()
        assert m.value("tether_connections_opened_total", client="billing-api", user="app") == 1
        (c,) = [c for c in t.connections() if c["client"] == "billing-api"]
        assert c["user"] == "app"
        assert c["attrs"].get("program_name") == "billing-api"
        assert c["attrs"].get("_client_name") == "pymysql"
    finally:
        conn.close()


def test_without_program_name_falls_back_to_address(tether):
    t = tether()
    conn = t.connect()  # PyMySQL sends no program_name unless asked
    try:
        wait_gauge(t, 1, client="127.0.0.1", user="app")
        (c,) = t.connections()
        assert c["client"] == "127.0.0.1"
        assert "program_name" not in c["attrs"]
    finally:
        conn.close()


def test_mariadb_cli_is_labelled_by_its_program_name(tether):
    t = tether()
    r = t.mysql_cli("SELECT 1")
    assert r.returncode == 0, r.stderr
    # the mariadb CLI (libmariadb) sends program_name=mysql
    wait_until(lambda: t.metrics().value("tether_connections_opened_total", client="mysql",
                                         user="app") == 1, 5,
               'tether_connections_opened_total{client="mysql",user="app"} == 1; '
               f"series: {t.metrics().series('tether_connections_opened_total')}")


def test_client_label_user(tether):
    t = tether(client_label="user")
    conn = t.connect(program_name="ignored-here")
    conn2 = t.connect(user="other", password="otherpw", program_name="ignored-here")
    try:
        wait_gauge(t, 1, client="app", user="app")
        wait_gauge(t, 1, client="other", user="other")
        assert not gauge_series(t, client="ignored-here")
        clients = sorted(c["client"] for c in t.connections())
        assert clients == ["app", "other"]
    finally:
        conn.close()
        conn2.close()


def test_client_label_custom_attribute_then_addr(tether):
    """attr:_client_name picks the driver's name; a missing attribute falls through to addr."""
    t = tether(client_label="attr:_client_name,addr")
    conn = t.connect(program_name="x")
    try:
        wait_gauge(t, 1, client="pymysql", user="app")
    finally:
        conn.close()
    t2 = tether(client_label="attr:team,user")
    conn = t2.connect()
    try:
        wait_gauge(t2, 1, client="app", user="app")
    finally:
        conn.close()


def test_client_label_from_env(tether):
    t = tether(_env={"TETHER_CLIENT_LABEL": "user"})
    conn = t.connect(program_name="nope")
    try:
        wait_gauge(t, 1, client="app", user="app")
    finally:
        conn.close()


def test_max_client_labels_overflow_goes_to_other(tether):
    """DESIGN.md: past --max-client-labels distinct labels, new ones are counted as `_other`."""
    t = tether(max_client_labels=2)
    conns = [t.connect(program_name=f"svc-{i}") for i in range(4)]
    try:
        m = wait_until(lambda: (lambda m: m if m.sum("tether_client_connections") == 4 else None)(
            t.metrics()), 5, "4 client connections counted")
        clients = {dict(k[1])["client"] for k in m.series("tether_client_connections")}
        named = clients - {"_other"}
        assert len(named) <= 2, f"more labels than --max-client-labels 2: {clients}"
        assert "_other" in clients, clients
        assert m.value("tether_client_connections", client="_other", user="app") == 4 - len(named)
    finally:
        for c in conns:
            c.close()


@pytest.mark.parametrize("name", [
    'we"ird',
    "back\\slash",
    "new\nline",
    "ünïcödé-svc",
    "x" * 150,  # PyMySQL 1.0.2 packs the whole attribute block length in one byte
], ids=["quote", "backslash", "newline", "unicode", "long"])
def test_odd_program_names_keep_metrics_valid(tether, name):
    """Attribute values are untrusted: /metrics must stay valid Prometheus text (parse_metrics
    is strict) and the label must round-trip or be sanitised consistently."""
    t = tether()
    conn = t.connect(program_name=name)
    try:
        m = wait_until(lambda: (lambda m: m if m.sum("tether_client_connections") == 1 else None)(
            t.metrics()), 5, "one client connection counted")
        (key,) = m.series("tether_client_connections")
        label = dict(key[1])["client"]
        assert label, "empty client label"
        if name == label:
            pass  # round-tripped exactly (escaping right)
        else:
            # sanitised or truncated: must still be a stable, printable value
            assert "\n" not in label
        (c,) = t.connections()
        assert c["attrs"]["program_name"] == name, "attrs in /connections must be exact (JSON-escaped)"
        assert c["client"] == label, "/connections and /metrics disagree about the label"
    finally:
        conn.close()
