"""Fixtures for tether's integration tests: a private MariaDB (session) and tether processes (per test).

Run:  PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m pytest tests/integration -q
Env:  TETHER_BIN (default <repo>/build/tether), TETHER_IT_LOG_LEVEL (default debug),
      TETHER_IT_KEEP=1 keeps the MariaDB datadir.
"""
import os
import sys

sys.dont_write_bytecode = True

import pytest  # noqa: E402

from helpers import wait_until  # noqa: E402,F401  (re-exported for tests)
from mariadb_server import MariaDB  # noqa: E402
from tether_proc import Tether  # noqa: E402


@pytest.fixture(scope="session")
def mariadb():
    db = MariaDB(keep=bool(os.environ.get("TETHER_IT_KEEP"))).start()
    try:
        yield db
    finally:
        db.stop()


@pytest.fixture
def server_sql(mariadb):
    """server_sql(query, args=None) -> rows, as root over the unix socket."""
    return mariadb.sql


@pytest.fixture
def processlist(mariadb):
    """processlist(user=None) -> rows of information_schema.PROCESSLIST (dicts, upper-case keys)."""
    return mariadb.processlist


@pytest.fixture
def threads_connected(mariadb):
    return mariadb.threads_connected


@pytest.fixture
def tether(request, mariadb, tmp_path):
    """Factory: tether(**flags) starts build/tether against the private MariaDB and waits for
    /healthz. Flags use underscores for dashes (handshake_timeout="1s"); `_env={...}` adds
    environment variables, `_wait=False` skips the health wait. Every instance is stopped with
    SIGTERM at teardown and must exit 0."""
    instances = []
    request.node._tether_instances = instances

    def start(_env=None, _wait=True, **flags):
        t = Tether(f"127.0.0.1:{mariadb.port}", str(tmp_path), flags=flags, env=_env,
                   name=f"tether{len(instances)}")
        instances.append(t)
        return t.start(wait=_wait)

    yield start

    problems = []
    for t in instances:
        if t.stopped_by_test:
            continue
        try:
            rc = t.stop()
        except AssertionError as e:
            problems.append(f"{t.flags.get('listen')}: {e}")
            continue
        if rc != 0:
            problems.append(f"{t.flags.get('listen')}: exit code {rc} after SIGTERM (expected 0)")
    if problems:
        logs = "\n".join(f"--- {t.log_path} ---\n{t.log()[-20000:]}" for t in instances)
        pytest.fail("tether shutdown at teardown failed:\n" + "\n".join(problems) + "\n" + logs,
                    pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed test, attach each tether's stderr (and the server's error log tail)."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for t in getattr(item, "_tether_instances", []):
            text = t.log()
            if len(text) > 30000:
                text = "...(cut)...\n" + text[-30000:]
            rep.sections.append((f"tether stderr {t.flags.get('listen')} argv={t.argv()[1:]}",
                                 text or "(empty)"))
        db = item.funcargs.get("mariadb") if hasattr(item, "funcargs") else None
        if db is not None:
            rep.sections.append(("mariadbd error log (tail)", db.log_tail(15)))
