"""Distinct made-up program_names against a cap: the connection_rejected log lines and tether's
memory stay bounded (the rate limit is keyed by the client's metrics label, which
--max-client-labels bounds, not by the raw name the client chose), and a normal client is served."""
import threading

from abuse_support import parse_err, raw_login
from incident_support import events

LOGINS = 12000
WORKERS = 4
LABELS = 20


def test_many_distinct_program_names_against_a_cap(tether):
    t = tether(max_connections=1, max_client_labels=LABELS, log_level="info")
    t.wait_ready()
    with t.connect(program_name="holder"):
        # warm up (allocator arenas, metric families) before taking the baseline
        for i in range(200):
            raw_login(t.host, t.port, "app", {"program_name": f"warmup-{i}"})
        rss_before = t.metrics().value("process_resident_memory_bytes")
        lines_before = len(events(t, "connection_rejected"))

        codes, errors = [], []

        def worker(w):
            try:
                for i in range(w, LOGINS, WORKERS):
                    pkt = raw_login(t.host, t.port, "app", {"program_name": f"made-up-{i}"})
                    codes.append(parse_err(pkt[1])[0] if pkt else None)
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors[:3]
        assert codes.count(1040) == LOGINS, {c: codes.count(c) for c in set(codes)}

        m = t.metrics()
        assert m.sum("tether_rejected_connections_total", limit="total") == LOGINS + 200
        # every name past the label budget is counted under "_other"
        assert m.sum("tether_rejected_connections_total", client="_other", limit="total") >= LOGINS - LABELS
        rss_after = m.value("process_resident_memory_bytes")
        new_lines = len(events(t, "connection_rejected")) - lines_before
        # One line per label and limit per 10 s window: the budget's labels, "_other", and a few
        # windows of each over the test's length.
        assert new_lines <= 3 * (LABELS + 1), new_lines
        assert rss_after - rss_before < 4 * 1024 * 1024, (rss_before, rss_after)
        # the holder's session and a normal client are unaffected
    with t.connect(program_name="normal") as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
