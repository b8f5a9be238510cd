"""sysbench (libmariadb, binary prepared statements: COM_STMT_PREPARE/EXECUTE/CLOSE) through tether."""
import re
import shutil
import subprocess

import pytest

from helpers import wait_until

pytestmark = pytest.mark.skipif(shutil.which("sysbench") is None, reason="sysbench not installed")


def sysbench(t, *args, timeout=120):
    argv = ["sysbench", "oltp_read_write", "--mysql-host=127.0.0.1", f"--mysql-port={t.port}",
            "--mysql-user=app", "--mysql-password=apppw", "--mysql-db=tether_test",
            "--tables=1", "--table-size=2000", "--db-ps-mode=auto"] + list(args)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def test_sysbench_oltp_read_write_through_tether(tether, mariadb):
    t = tether()
    sysbench(t, "cleanup")
    r = sysbench(t, "prepare")
    assert r.returncode == 0, r.stdout
    try:
        r = sysbench(t, "--threads=4", "--time=4", "--report-interval=0", "run")
        assert r.returncode == 0, r.stdout
        assert "FATAL" not in r.stdout, r.stdout
        tx = int(re.search(r"transactions:\s+(\d+)", r.stdout).group(1))
        errors = int(re.search(r"ignored errors:\s+(\d+)", r.stdout).group(1))
        reconnects = int(re.search(r"reconnects:\s+(\d+)", r.stdout).group(1))
        assert tx > 100, r.stdout
        # deadlocks can be ignored errors in read_write with 4 threads, but not many
        assert errors <= tx // 100, r.stdout
        assert reconnects == 0, r.stdout
    finally:
        sysbench(t, "cleanup")
    wait_until(lambda: t.metrics().sum("tether_client_connections") == 0, 10,
               "tether_client_connections to drop to 0 after sysbench")
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 10,
               "tether_upstream_connections to drop to 0 after sysbench")
    assert t.metrics().sum("tether_connections_opened_total", user="app") >= 4
