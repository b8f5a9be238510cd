"""An --upstream name that resolves to several addresses: tether tries each in order within
--connect-timeout. The name comes from a private /etc/hosts (tether runs in its own mount
namespace with a temporary hosts file bind-mounted over it), listing ::1 first and then 127.0.0.1,
as `localhost` resolves on a stock Debian; the test server listens on 127.0.0.1 only, so the
first address refuses."""
import os
import shutil
import socket
import subprocess

import pymysql
import pytest

from helpers import wait_until
from tether_proc import Tether

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="needs root for a mount namespace (unshare -m)")

NAME = "tether-multi-address"


class TetherWithHosts(Tether):
    """A Tether whose /etc/hosts is `hosts_path` (in a mount namespace of its own)."""

    def __init__(self, hosts_path, *args, **kw):
        super().__init__(*args, **kw)
        self.hosts_path = hosts_path

    def argv(self):
        return ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
                self.hosts_path] + super().argv()


@pytest.fixture
def multi_tether(mariadb, tmp_path):
    started = []

    def start(lines, **flags):
        hosts = tmp_path / "hosts"
        hosts.write_text("".join(f"{addr} {NAME}\n" for addr in lines))
        t = TetherWithHosts(str(hosts), f"{NAME}:{mariadb.port}", str(tmp_path), flags=flags,
                            name=f"tether{len(started)}")
        started.append(t)
        return t.start()

    yield start
    for t in started:
        assert t.stop() == 0, t.log()[-4000:]


def resolved_in_namespace(hosts_path):
    """What getaddrinfo returns for NAME with that hosts file (the order tether sees)."""
    code = f"import socket; print(' '.join(a[4][0] for a in socket.getaddrinfo('{NAME}', 1, type=socket.SOCK_STREAM)))"
    out = subprocess.run(["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
                          hosts_path, "python3", "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_second_address_is_tried_when_the_first_refuses(multi_tether, mariadb, tmp_path):
    t = multi_tether(["::1", "127.0.0.1"], log_level="debug")
    # the premise: ::1 comes first and nothing listens there
    assert resolved_in_namespace(t.hosts_path) == ["::1", "127.0.0.1"]
    with pytest.raises(OSError):
        socket.create_connection(("::1", mariadb.port), timeout=2).close()

    with t.connect(program_name="multi") as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    t.wait_ready()
    assert "upstream_address_failed" in t.log() and "address=[::1]" in t.log(), t.log()[-3000:]


def test_every_address_failing_names_each(multi_tether, mariadb):
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens on this port on either address
    t = multi_tether(["::1", "127.0.0.1"], upstream=f"{NAME}:{port}")
    with pytest.raises(pymysql.err.MySQLError) as e:
        t.connect().close()
    code, msg = e.value.args[0], e.value.args[1]
    assert code == 9001, e.value.args
    assert "[::1]: connection refused" in msg and "127.0.0.1: connection refused" in msg, msg
    wait_until(lambda: t.metrics().value("tether_connections_closed_total", reason="upstream_unreachable") >= 1,
               5, "the session counted as upstream_unreachable")
