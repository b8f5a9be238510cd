"""The command line: --version, --help, bad values (exit 2 naming the flag), env variables."""
import json
import socket

import pytest

from mariadb_server import free_port
from tether_proc import run_tether
from helpers import wait_until


def base_args(mariadb):
    return ["--listen", f"127.0.0.1:{free_port()}", "--upstream", f"127.0.0.1:{mariadb.port}",
            "--admin", f"127.0.0.1:{free_port()}"]


def test_version():
    r = run_tether(["--version"])
    assert r.returncode == 0, r.stderr
    assert (r.stdout + r.stderr).strip(), "--version printed nothing"


def test_help_names_the_flags():
    r = run_tether(["--help"])
    assert r.returncode == 0, r.stderr
    text = r.stdout + r.stderr
    for flag in ("--listen", "--upstream", "--admin", "--handshake-timeout", "--connect-timeout",
                 "--client-label", "--max-client-labels", "--reserved-user", "--log-format",
                 "--log-level"):
        assert flag in text, f"--help does not mention {flag}"


@pytest.mark.parametrize("flag,value", [
    ("--handshake-timeout", "banana"),
    ("--handshake-timeout", "-5s"),
    ("--connect-timeout", "10 parsecs"),
    ("--listen", "not-an-address"),
    ("--listen", "127.0.0.1:99999"),
    ("--admin", "127.0.0.1:notaport"),
    ("--upstream", "127.0.0.1:"),
    ("--log-format", "xml"),
    ("--log-level", "chatty"),
    ("--max-client-labels", "many"),
    ("--max-client-labels", "-1"),
    ("--client-label", "bogus"),
    ("--client-label", "attr:"),
    ("--readyz-checks-upstream", "maybe"),
    ("--statement-fingerprints", "sometimes"),
])
def test_bad_value_exits_2_naming_the_flag(mariadb, flag, value):
    args = base_args(mariadb)
    if flag in args:
        i = args.index(flag)
        args[i + 1] = value
    else:
        args += [flag, value]
    r = run_tether(args)
    assert r.returncode == 2, f"exit {r.returncode}, stderr: {r.stderr!r}"
    assert flag.lstrip("-") in r.stderr, f"stderr does not name {flag}: {r.stderr!r}"
    assert len(r.stderr.strip().splitlines()) == 1, f"expected a one-line error: {r.stderr!r}"


def test_unknown_flag_exits_2(mariadb):
    r = run_tether(base_args(mariadb) + ["--frobnicate", "yes"])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "frobnicate" in r.stderr


def test_missing_upstream_exits_2():
    r = run_tether(["--listen", f"127.0.0.1:{free_port()}", "--admin", f"127.0.0.1:{free_port()}"])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "upstream" in r.stderr.lower()


def test_bad_value_from_env_exits_2(mariadb):
    r = run_tether(base_args(mariadb), env={"TETHER_HANDSHAKE_TIMEOUT": "banana"})
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "handshake" in r.stderr.lower(), r.stderr


@pytest.mark.parametrize("which", ["--listen", "--admin"])
def test_address_in_use_fails_cleanly(mariadb, which):
    """A taken port is a startup error: a clean non-zero exit naming the address, not a crash."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        args = base_args(mariadb)
        args[args.index(which) + 1] = f"127.0.0.1:{port}"
        r = run_tether(args, timeout=15)
    assert r.returncode > 0, \
        f"expected a clean non-zero exit, got {r.returncode} (negative = killed by a signal): {r.stderr}"
    assert str(port) in r.stderr, r.stderr
    assert "Assertion" not in r.stderr, r.stderr


def test_flags_from_env(tether, mariadb):
    """TETHER_UPSTREAM / TETHER_LISTEN / TETHER_ADMIN instead of flags."""
    port, admin = free_port(), free_port()
    t = tether(listen=None, upstream=None, admin=None,
               _wait=False,
               _env={"TETHER_UPSTREAM": f"127.0.0.1:{mariadb.port}",
                     "TETHER_LISTEN": f"127.0.0.1:{port}",
                     "TETHER_ADMIN": f"127.0.0.1:{admin}"})
    t.port, t.admin_port = port, admin
    t.wait_healthy()
    conn = t.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            assert cur.fetchone() == ("app@%",)
    finally:
        conn.close()


def test_flag_beats_env(tether, mariadb):
    t = tether(_env={"TETHER_UPSTREAM": f"127.0.0.1:{free_port()}"})  # flag points at MariaDB
    conn = t.connect()
    conn.close()


def test_json_log_format(tether):
    t = tether(log_format="json", log_level="debug")
    conn = t.connect(program_name="jsonlog")
    conn.close()
    wait_until(lambda: t.metrics().value("tether_connections_closed_total", reason="client_quit") >= 1,
               5, "close counted")
    assert t.stop() == 0
    t.stopped_by_test = True
    lines = [l for l in t.log().splitlines() if l.strip()]
    assert lines, "no log lines at all"
    for line in lines:
        obj = json.loads(line)  # every line is one JSON object
        assert isinstance(obj, dict), line


def test_log_level_error_is_quiet_for_normal_traffic(tether):
    t = tether(log_level="error")
    conn = t.connect()
    conn.close()
    wait_until(lambda: t.metrics().value("tether_connections_closed_total", reason="client_quit") >= 1,
               5, "close counted")
    assert t.stop() == 0
    t.stopped_by_test = True
    assert t.log().strip() == "", f"log-level error logged normal traffic:\n{t.log()}"


def test_text_log_has_one_line_per_event(tether):
    t = tether(log_format="text", log_level="info")
    conn = t.connect(program_name="textlog")
    conn.close()
    wait_until(lambda: t.metrics().value("tether_connections_closed_total", reason="client_quit") >= 1,
               5, "close counted")
    assert t.stop() == 0
    t.stopped_by_test = True
    log = t.log()
    assert "client_quit" in log, f"the close reason is not logged:\n{log}"
