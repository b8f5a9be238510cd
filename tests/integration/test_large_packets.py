"""Payloads of 16 MB and more: MySQL splits them into 0xFFFFFF-byte packets plus a tail (an empty
tail when the payload is an exact multiple). tether must relay them both ways and stay in sync."""
import hashlib

import pytest

MAX = 0xFFFFFF
# A text-protocol row with one column longer than 16 MB: payload = 9-byte length prefix + data.
EXACT_ROW = MAX - 9


@pytest.fixture
def big_conn(tether):
    t = tether()
    conn = t.connect(max_allowed_packet=64 * 1024 * 1024, program_name="big")
    yield conn
    conn.close()


@pytest.mark.parametrize("size", [
    EXACT_ROW - 1,          # one packet of 0xFFFFFE bytes
    EXACT_ROW,              # exactly 0xFFFFFF: followed by an empty packet
    EXACT_ROW + 1,          # 0xFFFFFF + 1 byte
    17 * 1024 * 1024,       # the usual "just over 16 MB"
    2 * MAX - 9,            # two full packets + an empty one
], ids=["max-1", "exact-max", "max+1", "17MiB", "2xmax"])
def test_result_row_larger_than_16mb(big_conn, size):
    with big_conn.cursor() as cur:
        cur.execute("SELECT REPEAT('x', %s), MD5(REPEAT('x', %s)), 'after'", (size, size))
        data, md5, after = cur.fetchone()
        assert len(data) == size
        assert md5 == hashlib.md5(data.encode()).hexdigest()
        assert after == "after"
        cur.execute("SELECT 'in sync'")
        assert cur.fetchone() == ("in sync",)


@pytest.mark.parametrize("size", [MAX - 1, 20 * 1024 * 1024], ids=["cmd-exact-max", "20MiB"])
def test_client_query_larger_than_16mb(big_conn, size):
    """A COM_QUERY whose payload (1 command byte + the SQL) is exactly 0xFFFFFF, or 20 MB."""
    prefix, suffix = "SELECT LENGTH('", "')"
    n = size - len(prefix) - len(suffix)
    sql = prefix + "q" * n + suffix
    assert len(sql) == size
    with big_conn.cursor() as cur:
        cur.execute(sql)
        assert cur.fetchone() == (n,)
        cur.execute("SELECT 'in sync'")
        assert cur.fetchone() == ("in sync",)


def test_20mb_blob_round_trip(big_conn, server_sql):
    blob = bytes(range(256)) * (20 * 1024 * 1024 // 256)
    digest = hashlib.md5(blob).hexdigest()
    with big_conn.cursor() as cur:
        cur.execute("INSERT INTO blobs (b) VALUES (%s)", (blob,))
        rid = cur.lastrowid
        cur.execute("SELECT b FROM blobs WHERE id = %s", (rid,))
        (back,) = cur.fetchone()
        assert len(back) == len(blob) and hashlib.md5(back).hexdigest() == digest
    # the server stored exactly what the client sent
    assert server_sql("SELECT LENGTH(b), MD5(b) FROM tether_test.blobs WHERE id = %s",
                      (rid,)) == ((len(blob), digest),)
    server_sql("DELETE FROM tether_test.blobs WHERE id = %s", (rid,))
