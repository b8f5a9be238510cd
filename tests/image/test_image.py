"""The container image: minimal, non-root, no shell, and a working tether.

The image is built from the repository's Containerfile with deploy/image/build (no registry: the
base comes from debootstrap), then run with podman on the host network in front of the private
MariaDB, with the restrictions the Kubernetes manifests set (read-only root filesystem, every
capability dropped, no privilege escalation).
"""
import json
import subprocess
import time
import urllib.request

import pymysql

from mariadb_server import free_port

RESTRICTED = ["--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges", "--network=host"]


def test_image_is_minimal_and_non_root(podman, image):
    info = json.loads(podman("image", "inspect", image).stdout)[0]
    config = info["Config"]
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["/usr/local/bin/tether"]
    assert "Healthcheck" not in config or not config["Healthcheck"]
    size_mb = info["Size"] / 1e6
    print(f"image size: {size_mb:.1f} MB")
    assert size_mb < 40, f"the runtime stage should hold only tether and its libraries, not {size_mb:.1f} MB"
    # No shell and no package manager to exec into.
    for tool in ("/bin/sh", "/usr/bin/apt-get", "/usr/bin/dpkg"):
        p = podman("run", "--rm", "--entrypoint", tool, image, check=False)
        assert p.returncode != 0 and "no such file or directory" in (p.stderr + p.stdout).lower(), (tool, p.stderr)


def test_version_under_the_manifests_restrictions(podman, image):
    p = podman("run", "--rm", *RESTRICTED, image, "--version")
    assert p.stdout.strip() == "tether 0.1.0"


def wait_ready(admin_port, timeout=30):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as e:  # not listening yet, or 503 until the upstream answered
            last = e
        time.sleep(0.1)
    raise AssertionError(f"/readyz never became 200: {last}")


def test_the_image_proxies_a_query_and_stops_cleanly(podman, image, mariadb):
    listen, admin = free_port(), free_port()
    name = f"tether-image-test-{listen}"
    podman("run", "-d", "--name", name, *RESTRICTED,
           "-e", f"TETHER_UPSTREAM=127.0.0.1:{mariadb.port}",
           "-e", f"TETHER_LISTEN=127.0.0.1:{listen}",
           "-e", f"TETHER_ADMIN=127.0.0.1:{admin}",
           "-e", "TETHER_SHUTDOWN_GRACE=2s",
           image)
    try:
        wait_ready(admin)
        conn = pymysql.connect(host="127.0.0.1", port=listen, user="app", password="apppw",
                               database="tether_test", program_name="image-test", connect_timeout=10)
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM fruits WHERE id = 2")
            assert cur.fetchone() == ("pear",)
            cur.execute("SELECT CONNECTION_ID()")
            thread_id = cur.fetchone()[0]
        # The server sees tether's connection; tether counts it under the app's name.
        assert [r for r in mariadb.processlist(user="app") if r["ID"] == thread_id]
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        assert 'tether_client_connections{client="image-test",user="app"} 1' in metrics
        conn.close()
        # SIGTERM (podman stop): drains and exits 0 well within the grace.
        podman("stop", "-t", "20", name)
        state = json.loads(podman("inspect", name).stdout)[0]["State"]
        assert state["ExitCode"] == 0, podman("logs", name).stderr[-3000:]
        logs = podman("logs", name)
        assert '"event":"stopping"' in (logs.stdout + logs.stderr)
    finally:
        podman("rm", "-f", name, check=False)


def test_the_image_speaks_verified_tls_on_both_legs(podman, image, mariadb):
    """OpenSSL is in the image: tether terminates a client's TLS with a mounted certificate and
    verifies the server's against a mounted CA (both from tests/support/make_test_certs)."""
    listen, admin = free_port(), free_port()
    name = f"tether-image-tls-{listen}"
    podman("run", "-d", "--name", name, *RESTRICTED,
           "-v", f"{mariadb.certs}:/certs:ro",
           "-e", f"TETHER_UPSTREAM=127.0.0.1:{mariadb.port}",
           "-e", f"TETHER_LISTEN=127.0.0.1:{listen}",
           "-e", f"TETHER_ADMIN=127.0.0.1:{admin}",
           "-e", "TETHER_TLS_CERT=/certs/tether.pem", "-e", "TETHER_TLS_KEY=/certs/tether.key",
           "-e", "TETHER_UPSTREAM_TLS=verify-identity", "-e", "TETHER_UPSTREAM_TLS_CA=/certs/ca.pem",
           "-e", "TETHER_UPSTREAM_TLS_SERVER_NAME=localhost",
           "-e", "TETHER_SHUTDOWN_GRACE=2s",
           image)
    try:
        wait_ready(admin)
        conn = pymysql.connect(host="127.0.0.1", port=listen, user="app", password="apppw",
                               database="tether_test", connect_timeout=10,
                               ssl={"ca": mariadb.cert("ca"), "check_hostname": True})
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            assert cur.fetchone()[1] != ""
        assert conn._sock.version() in ("TLSv1.2", "TLSv1.3")
        conn.close()
        podman("stop", "-t", "20", name)
        assert json.loads(podman("inspect", name).stdout)[0]["State"]["ExitCode"] == 0
    finally:
        podman("rm", "-f", name, check=False)
