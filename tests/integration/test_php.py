"""PHP through tether: PDO and mysqli on mysqlnd (PHP's own implementation of the protocol), with
the compressed protocol on and off. mysqlnd asks for CLIENT_COMPRESS even when the greeting hides
it; tether offers the server's compression and follows the packets inside the frames."""
import os
import shutil

import pytest

from helpers import wait_until
from step_client import StepClient

HERE = os.path.dirname(os.path.abspath(__file__))
LARGE = "SELECT seq, SHA2(seq, 512) AS h, REPEAT(MD5(seq), 20) AS r FROM tether_test.seq_1_to_8000 ORDER BY seq"


@pytest.fixture(scope="module")
def large_digest(mariadb):
    """What session.php's digest() of the large result must be, read straight from the server."""
    import hashlib
    rows = mariadb.sql(LARGE)
    md5 = hashlib.md5()
    size = 0
    for row in rows:
        line = ("\t".join(str(v) for v in row) + "\n").encode()
        md5.update(line)
        size += len(line)
    assert size > 5_000_000
    return {"rows": len(rows), "bytes": size, "md5": md5.hexdigest()}


@pytest.mark.parametrize("compress", [True, False], ids=["compressed", "plain"])
@pytest.mark.parametrize("api", ["pdo", "mysqli"])
def test_php_through_tether(tether, mariadb, large_digest, api, compress):
    php = shutil.which("php")
    assert php, "php is missing: scripts/bootstrap installs php-cli and php-mysql"
    t = tether(client_label="attr:_client_name")
    aborted_before = mariadb.status("Aborted_clients")
    client = StepClient([php, os.path.join(HERE, "php", "session.php"), api, "1" if compress else "0", str(t.port)])
    try:
        hello = client.until("hello")
        assert hello["compression"] == ("ON" if compress else "OFF"), hello
        assert client.until("query") == [["apple", 3], ["pear", 5], ["plum", 7]] or \
            client.until("query") == [["apple", "3"], ["pear", "5"], ["plum", "7"]]
        assert [[name, int(qty)] for name, qty in client.until("prepared")] == [["apple", 3], ["plum", 7], ["pear", 5]]

        client.until("in_transaction")
        session = t.connection_by_thread(hello["id"])
        assert session is not None, t.connections()
        assert session["client"] == "mysqlnd" and session["user"] == "app", session
        assert session["in_transaction"] is True and session["state"] == "idle", session
        client.resume()

        assert client.until("committed") is True
        assert client.until("large") == large_digest
        session = t.connection_by_thread(hello["id"])
        assert session["in_transaction"] is False and session["state"] == "idle", session
        if compress:  # the frames crossed tether compressed, as they left the server
            assert session["bytes_from_upstream"] < large_digest["bytes"] * 0.8, session
        else:
            assert session["bytes_from_upstream"] > large_digest["bytes"], session
        client.resume()
        if api == "mysqli":
            assert client.until("changed_user") == "other@%"
            session = t.connection_by_thread(hello["id"])
            assert session["user"] == "other" and session["state"] == "idle", session
            client.resume()
        assert client.until("done") is True
        client.wait()
    finally:
        client.kill()

    wait_until(lambda: hello["id"] not in mariadb.thread_ids(), 5, "the server thread gone after close")
    m = t.metrics()
    assert m.value("tether_protocol_desyncs_total") == 0
    assert m.value("tether_connections_closed_total", reason="client_quit") == 1
    assert m.value("tether_connections_opened_total", client="mysqlnd", user="app") == 1
    assert mariadb.status("Aborted_clients") == aborted_before
