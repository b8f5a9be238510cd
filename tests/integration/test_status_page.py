"""The status page (GET / on the admin port) in a real browser: Debian's headless chromium, driven by
tests/browser/status_page.mjs, loads it from a live tether while a client leaks connections, and the
test asserts on what the rendered DOM shows."""
import json
import re
import os
import shutil
import subprocess

import pytest

from helpers import wait_until
from mariadb_server import free_port
from tether_proc import REPO

BROWSER_DIR = os.path.join(REPO, "tests", "browser")
ARTIFACTS = os.path.join(REPO, "build", "test-artifacts")
CHROMIUM = "/usr/bin/chromium"
HOSTILE = "<script>alert(1)</script>"
# Literals the leaking client's statements carry: none may reach the page (fingerprints only). The
# number is above any port or thread id the page shows, so it cannot appear by chance.
SECRET_NUMBER = "7340291"
SECRET_STRING = "marker-literal"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class BrowserScript:
    """tests/browser/status_page.mjs: one JSON record a line; a line on stdin lets it go on."""

    def __init__(self, url, token=None):
        node = shutil.which("node")
        assert node, "node is missing: scripts/bootstrap installs it"
        assert os.access(CHROMIUM, os.X_OK), "chromium is missing: scripts/bootstrap installs it"
        assert os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")), \
            "playwright-core is missing: scripts/bootstrap runs npm ci in tests/browser"
        argv = [node, os.path.join(BROWSER_DIR, "status_page.mjs"), url, ARTIFACTS] + ([token] if token else [])
        self.proc = subprocess.Popen(argv,
                                     cwd=BROWSER_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.steps = {}

    def until(self, step):
        while step not in self.steps:
            line = self.proc.stdout.readline()
            assert line, f"the browser script exited before {step!r}: {self.proc.stderr.read()}"
            record = json.loads(line)
            assert record["step"] != "error", f"the browser script failed: {record['value']}"
            self.steps[record["step"]] = record["value"]
        return self.steps[step]

    def resume(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def leak(t, n, program="invoice-worker"):
    """n connections that each run a statement with literals in it, then are left open."""
    conns = []
    for i in range(n):
        c = t.connect(program_name=program)
        with c.cursor() as cur:
            if i % 2 == 0:
                cur.execute(f"SELECT * FROM items WHERE id = {SECRET_NUMBER}")
            else:
                cur.execute(f"SELECT name FROM items WHERE name = '{SECRET_STRING}'")
            cur.fetchall()
        conns.append(c)
    return conns


def client_row(snapshot, client):
    rows = [r for r in snapshot["clients"] if r["cells"].get("client") == client]
    assert len(rows) == 1, f"no single clients row for {client!r}: {snapshot['clients']}"
    return rows[0]


def open_suspects(t, client, n):
    """/status says `client` has n open sessions, all of them leak suspects."""
    status, _, body = t.http("GET", "/status")
    assert status == 200
    for c in json.loads(body)["clients"]:
        if c["client"] == client:
            return c["open"] == n and c["suspects"] == n
    return False


def test_status_page_in_a_browser(tether):
    t = tether(leak_idle_threshold="1s", status_sample_interval="1s")
    conns = leak(t, 3)
    hostile = t.connect(program_name=HOSTILE)
    browser = None
    try:
        with hostile.cursor() as cur:
            cur.execute("SELECT 1")
        wait_until(lambda: open_suspects(t, "invoice-worker", 3), 10, "3 suspects of invoice-worker in /status")

        browser = BrowserScript(f"http://127.0.0.1:{t.admin_port}/")
        first = browser.until("first")
        assert client_row(first, "invoice-worker")["cells"]["open"] == "3", first["clients"]

        conns += leak(t, 2)
        wait_until(lambda: open_suspects(t, "invoice-worker", 5), 10, "5 suspects of invoice-worker in /status")
        browser.resume()
        second = browser.until("second")
        done = browser.until("done")
        browser.finish()

        # The client's row, its count risen with the leak, its suspects marked.
        row = client_row(second, "invoice-worker")
        assert row["cells"]["open"] == "5", second["clients"]
        assert row["cells"]["suspects"] == "5", row
        assert "suspect" in row["className"].split(), row
        assert second["chart_lines"] >= 1 and any(e.startswith("invoice-worker") for e in second["legend"]), second

        # A highlighted suspect session with its fingerprint (/connections' last_statement), and no
        # literal anywhere in the page.
        suspects = [r for r in second["sessions"]
                    if r["cells"]["client"] == "invoice-worker" and "suspect" in r["className"].split()]
        assert len(suspects) == 5, second["sessions"]
        statements = {r["cells"]["last-statement"] for r in suspects}
        assert "SELECT * FROM items WHERE id = ?" in statements, statements
        assert "SELECT name FROM items WHERE name = ?" in statements, statements
        for snapshot in (first, second):
            assert SECRET_NUMBER not in snapshot["text"] and SECRET_STRING not in snapshot["text"], snapshot["text"]

        # The hostile program_name is text: shown as typed, no script of its own, no dialog.
        assert client_row(second, HOSTILE)["cells"]["user"] == "app"
        assert any(r["cells"]["client"] == HOSTILE for r in second["sessions"]), second["sessions"]
        assert HOSTILE in second["text"]
        assert done["dialogs"] == [], done["dialogs"]
        assert len(second["scripts"]) == 1 and second["scripts"][0].endswith("/status.js"), second["scripts"]

        assert done["console_errors"] == [], done["console_errors"]
        assert done["page_errors"] == [], done["page_errors"]
        assert done["status"] == 200
        assert done["headers"].get("content-security-policy") == CSP, done["headers"]
        assert os.path.getsize(os.path.join(ARTIFACTS, "status-page.png")) > 0
    finally:
        if browser is not None and browser.proc.poll() is None:
            browser.proc.kill()
            browser.proc.wait()
        for c in conns + [hostile]:
            c.close()


def test_status_page_asks_for_the_token(tether):
    """On a non-loopback listener that requires the token for listings, the page asks for it, keeps it in
    sessionStorage and sends it as a bearer token; the rows then show."""
    token = "page-token-1"
    admin_port = free_port()
    t = tether(admin=f"0.0.0.0:{admin_port}", admin_token=token, connections_require_token=True,
               status_sample_interval="1s")
    assert t.http("GET", "/status")[0] == 403
    conn = t.connect(program_name="token-page")
    browser = None
    try:
        browser = BrowserScript(f"http://127.0.0.1:{admin_port}/", token=token)
        first = browser.until("first")
        assert first["token_form_shown"] is True
        assert first["token_form_visible"] is False
        assert client_row(first, "token-page")["cells"]["open"] == "1"
        browser.resume()
        browser.until("second")
        done = browser.until("done")
        browser.finish()
        assert done["token_stored"] is True
        assert done["page_errors"] == [] and done["dialogs"] == []
        # The only errors are the browser's own notes of the 403s that made the page ask.
        assert all("403" in e for e in done["console_errors"]), done["console_errors"]
    finally:
        if browser is not None and browser.proc.poll() is None:
            browser.proc.kill()
            browser.proc.wait()
        conn.close()


@pytest.mark.parametrize("path,content_type", [("/", "text/html"), ("/status.js", "text/javascript"),
                                                ("/status.css", "text/css")])
def test_page_files_headers(tether, path, content_type):
    t = tether()
    status, headers, body = t.http("GET", path)
    assert status == 200 and body
    assert headers["content-type"].startswith(content_type)
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"


def test_page_has_no_inline_script_or_style(tether):
    """The policy forbids inline script and style: the page must need none."""
    t = tether()
    _, _, body = t.http("GET", "/")
    html = body.decode()
    assert "style=" not in html and "<style" not in html
    assert html.count("<script") == 1 and '<script src="status.js"' in html
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler"


def test_status_json(tether, mariadb):
    t = tether(status_sample_interval="1s", max_connections_per_client=2, leak_idle_threshold="1s")
    conns = [t.connect(program_name="status-json") for _ in range(2)]
    try:
        with pytest.raises(Exception) as refused:
            t.connect(program_name="status-json")
        assert "1203" in str(refused.value) or "1040" in str(refused.value), refused.value

        def status():
            code, headers, body = t.http("GET", "/status")
            assert code == 200 and headers["content-type"] == "application/json"
            return json.loads(body)

        s = wait_until(lambda: (lambda s: s if s["history"]["samples"] and s["suspects"] >= 2 else None)(status()),
                       10, "a history sample and 2 suspects in /status")
        assert s["ready"] in (True, False) and s["version"]
        assert s["upstream"]["address"] == f"127.0.0.1:{mariadb.port}"
        assert s["upstream"]["monitor_up"] is None and s["upstream"]["server_threads_connected"] is None
        assert s["caps"] == {"total": 0, "client": 2, "user": 0}
        assert s["sessions"] == 2
        row = [c for c in s["clients"] if c["client"] == "status-json"]
        assert row == [{"client": "status-json", "user": "app", "open": 2, "suspects": 2, "idle_in_transaction": 0,
                        "max_idle_seconds": row[0]["max_idle_seconds"], "rejected": 1}], s["clients"]
        assert row[0]["max_idle_seconds"] >= 1
        assert s["history"]["interval_seconds"] == 1
        assert s["history"]["samples"][-1]["clients"].get("status-json") == 2
        assert s["history"]["samples"][-1]["total"] == 2
    finally:
        for c in conns:
            c.close()


def test_status_sample_interval_flag_bounds():
    from tether_proc import run_tether
    for bad in ("500ms", "2h", "0"):
        r = run_tether(["--upstream", "127.0.0.1:1", "--status-sample-interval", bad])
        assert r.returncode == 2, (bad, r.stderr)
        assert "--status-sample-interval" in r.stderr, r.stderr
