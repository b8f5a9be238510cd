"""A slow reader of a large result: tether must stop reading the upstream rather than buffer
(write queues with high/low water marks), so its memory stays bounded."""
import time

import pymysql

from helpers import wait_until

ROWS, WIDTH = 100_000, 1000  # ~100 MB of result


def rss(t):
    return wait_until(lambda: t.metrics().value("process_resident_memory_bytes"), 5,
                      "a process_resident_memory_bytes sample")


def test_slow_reader_does_not_balloon_memory(tether):
    t = tether()
    base = rss(t)
    conn = t.connect(cursorclass=pymysql.cursors.SSCursor, read_timeout=120)
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT seq, REPEAT('m', {WIDTH}) FROM seq_1_to_{ROWS}")
        cur.fetchone()
        # stop reading for a while: the server keeps producing, tether must hold back
        time.sleep(2.5)  # > one process-metrics tick
        peak = rss(t)
        n = 1
        for seq, pad in cur:
            n += 1
        assert n == ROWS
        assert peak - base < 48 * 1024 * 1024, \
            f"tether grew by {(peak - base) / 2**20:.0f} MiB while the client read nothing " \
            f"(result is ~{ROWS * WIDTH / 2**20:.0f} MiB): no backpressure?"
        cur.close()
        with conn.cursor() as c2:
            c2.execute("SELECT 'in sync'")
            assert c2.fetchone() == ("in sync",)
    finally:
        conn.close()
