"""bench/: the report's arithmetic on hand-made raw figures, and bench/run's argument checks
(which run before it installs or starts anything, so these take well under a second)."""
import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN, REPORT = REPO / "bench" / "run", REPO / "bench" / "report.py"

META = {
    "date": "2026-01-01T00:00:00Z", "host": "2 cores", "candidate_name": "tether",
    "candidate": "build/tether", "mariadb": "10.11", "haproxy": "2.6", "nginx": "1.22",
    "sysbench": "1.0.20", "paths": "direct tether", "rounds": "2", "duration_s": "4",
    "threads": "8", "churn_workers": "4", "idle": "1000", "proxy_threads": "1",
    "table_size": "10000", "ticks_per_s": "100", "server_baseline": "0",
    "others_busy_before_pct": "0", "others_busy_after_pct": "0", "total_s": "60", "build_s": "5",
}
RUN_HEADER = "kind round slot path threads seconds count rate p95_ms errors cpu_ticks server_left".split()
IDLE_HEADER = "path requested held rss_before_kib rss_after_kib server_while_held server_left drain_s".split()


def write_out(tmp_path, runs, idle, meta=META):
    def tsv(name, header, rows):
        lines = ["\t".join(header)] + ["\t".join(str(v) for v in r) for r in rows]
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    (tmp_path / "meta.tsv").write_text("".join(f"{k}\t{v}\n" for k, v in meta.items()))
    tsv("runs.tsv", RUN_HEADER, runs)
    tsv("idle.tsv", IDLE_HEADER, idle)
    rc = subprocess.run(["python3", str(REPORT), str(tmp_path)], timeout=30).returncode
    return rc, json.loads((tmp_path / "results.json").read_text()), (tmp_path / "results.md").read_text()


CLEAN_IDLE = [["direct", 1000, 1000, "", "", 1000, 0, 0.1],
              ["tether", 1000, 1000, 5000, 7000, 1000, 0, 0.1]]


def test_ratios_are_taken_within_a_round_then_medianed(tmp_path):
    # The machine halves its speed in round 2: both paths drop, the per-round ratio stays 0.5 / 0.6.
    runs = [
        ["point_select", 1, 0, "direct", 8, 4, 400000, 100000, 0.30, 0, "", 0],
        ["point_select", 1, 1, "tether", 8, 4, 200000, 50000, 0.45, 0, 400, 0],
        ["point_select", 2, 0, "tether", 8, 4, 120000, 30000, 0.90, 0, 300, 0],
        ["point_select", 2, 1, "direct", 8, 4, 200000, 50000, 0.60, 0, "", 0],
        ["churn", 1, 0, "direct", 4, 4, 40000, 10000, "", 0, "", 0],
        ["churn", 1, 1, "tether", 4, 4, 20000, 5000, "", 0, 200, 0],
        ["churn", 2, 0, "tether", 4, 4, 10000, 2500, "", 0, 100, 0],
        ["churn", 2, 1, "direct", 4, 4, 20000, 5000, "", 0, "", 0],
    ]
    rc, res, md = write_out(tmp_path, runs, CLEAN_IDLE)
    assert rc == 0 and res["problems"] == []
    qps = res["point_select"]["tether"]["8"]["queries_per_s"]
    assert qps["per_round_ratio"] == [0.5, 0.6]
    assert qps["ratio_to_direct"] == 0.55  # a ratio of the medians would be 40000 / 75000 = 0.53
    assert (qps["ratio_min"], qps["ratio_max"]) == (0.5, 0.6)
    assert res["point_select"]["tether"]["8"]["p95_ms"]["per_round_ratio"] == [1.5, 1.5]
    # 400 ticks of 10 ms over 200,000 queries = 20 us; 300 over 120,000 = 25 us; median 22.5
    assert res["point_select"]["tether"]["8"]["proxy_cpu_us_per_query"]["median"] == 22.5
    assert res["point_select"]["direct"]["8"]["proxy_cpu_us_per_query"] is None
    # 200 ticks / 20,000 connections = 100 us, 100 / 10,000 = 100 us
    assert res["churn"]["tether"]["proxy_cpu_us_per_connection"]["median"] == 100.0
    assert res["churn"]["tether"]["connections_per_s"]["ratio_to_direct"] == 0.5
    # (7000 - 5000) KiB over 1000 connections
    assert res["idle"]["tether"]["proxy_rss_bytes_per_idle_connection"] == 2048
    assert "Total 60 s (building and installing: 5 s)." in md
    assert "| tether | 40,000 | 0.550 (0.50-0.60) |" in md
    assert "| tether | 22.50 | 100.0 |" in md
    assert "| tether | 3,750 | 0.500 | 1000 | 1000 | 2,048 | 0 |" in md
    assert "tls" not in res and "TLS" not in md  # without --tls the report is what it was


def test_proxy_cpu_is_also_a_ratio_to_nginx_inside_each_round(tmp_path):
    # Round 2 runs on a machine slower for both proxies: the absolute medians say tether costs
    # more per connection (62.5 against 60 us), the per-round ratios 0.9 and 1.14.
    meta = dict(META, paths="direct tether nginx")
    runs = [
        ["point_select", 1, 0, "direct", 8, 4, 400000, 100000, 0.30, 0, "", 0],
        ["point_select", 1, 1, "tether", 8, 4, 200000, 50000, 0.45, 0, 360, 0],
        ["point_select", 1, 2, "nginx", 8, 4, 200000, 50000, 0.45, 0, 400, 0],
        ["point_select", 2, 0, "direct", 8, 4, 400000, 100000, 0.30, 0, "", 0],
        ["point_select", 2, 1, "tether", 8, 4, 200000, 50000, 0.45, 0, 800, 0],
        ["point_select", 2, 2, "nginx", 8, 4, 200000, 50000, 0.45, 0, 800, 0],
        ["churn", 1, 0, "direct", 4, 4, 40000, 10000, "", 0, "", 0],
        ["churn", 1, 1, "tether", 4, 4, 20000, 5000, "", 0, 90, 0],
        ["churn", 1, 2, "nginx", 4, 4, 20000, 5000, "", 0, 100, 0],
        ["churn", 2, 0, "direct", 4, 4, 40000, 10000, "", 0, "", 0],
        ["churn", 2, 1, "tether", 4, 4, 20000, 5000, "", 0, 160, 0],
        ["churn", 2, 2, "nginx", 4, 4, 20000, 5000, "", 0, 140, 0],
    ]
    idle = CLEAN_IDLE + [["nginx", 1000, 1000, 5000, 15000, 1000, 0, 0.1]]
    rc, res, md = write_out(tmp_path, runs, idle, meta)
    assert rc == 0 and res["problems"] == []
    churn = res["churn"]["tether"]["proxy_cpu_us_per_connection"]
    assert churn["median"] == 62.5 and res["churn"]["nginx"]["proxy_cpu_us_per_connection"]["median"] == 60.0
    assert churn["per_round_ratio_to_nginx"] == [0.9, 1.1429]
    assert churn["ratio_to_nginx"] == 1.0214
    assert (churn["ratio_to_nginx_min"], churn["ratio_to_nginx_max"]) == (0.9, 1.1429)
    query = res["point_select"]["tether"]["8"]["proxy_cpu_us_per_query"]
    assert query["per_round_ratio_to_nginx"] == [0.9, 1.0]
    assert "ratio_to_nginx" not in res["churn"]["nginx"]["proxy_cpu_us_per_connection"]
    assert "| tether | 0.950 (0.90-1.00) | 1.021 (0.90-1.14) |" in md
    # Without nginx among the paths there is no such table.
    rc, res, md = write_out(tmp_path, runs[:2] + runs[3:5] + runs[6:8] + runs[9:11], CLEAN_IDLE)
    assert "x nginx" not in md and "ratio_to_nginx" not in res["churn"]["tether"]["proxy_cpu_us_per_connection"]


def test_leftovers_errors_and_short_idle_counts_are_problems(tmp_path):
    runs = [
        ["point_select", 1, 0, "direct", 8, 4, 400000, 100000, 0.30, 0, "", 0],
        ["point_select", 1, 1, "tether", 8, 4, 200000, 50000, 0.45, 3, 400, 2],
        ["point_select", 2, 0, "direct", 8, 4, 400000, 100000, 0.30, 0, "", 0],
        ["point_select", 2, 1, "tether", 8, 4, 200000, 50000, 0.45, 0, 400, 0],
        ["churn", 1, 0, "direct", 4, 4, 40000, 10000, "", 0, "", 0],
        ["churn", 1, 1, "tether", 4, 4, 20000, 5000, "", 0, 200, 0],
        ["churn", 2, 0, "direct", 4, 4, 40000, 10000, "", 0, "", 0],
        ["churn", 2, 1, "tether", 4, 4, 20000, 5000, "", 0, 200, 0],
    ]
    idle = [CLEAN_IDLE[0], ["tether", 1000, 900, 5000, 7000, 900, 450, 15.0]]
    rc, res, md = write_out(tmp_path, runs, idle)
    assert rc == 3
    assert res["server_left_after_runs"] == {"direct": 0, "tether": 2}
    assert res["idle"]["tether"]["server_left_after_close"] == 450
    assert set(res["problems"]) == {
        "tether: 3 sysbench errors at 8 threads",
        "tether: 2 server sessions still open 10 s after its runs ended",
        "tether: held only 900 of 1000 idle connections",
        "tether: 450 server sessions left after its idle clients closed"}
    assert "**Problems:**" in md


TLS_PATHS = ["tether-tls-client", "tether-tls-server", "tether-tls-both"]
TLS_META = {**META, "paths": " ".join(["direct", "tether", *TLS_PATHS]), "threads": "1 8", "tls": "1",
            **{f"cmd_{p}": f"build/tether --{p}" for p in ["tether", *TLS_PATHS]},
            **{f"legs_{p}": "sysbench's 8 sessions: client leg TLSv1.3" for p in ["tether", *TLS_PATHS]}}


def tls_runs(both_ticks_round_2):
    """Two rounds at 1 and 8 threads; tether's CPU doubles in round 2, and so do the TLS paths'
    (ratios to tether 1.2, 1.5, and for tether-tls-both 1.8 then both_ticks_round_2 / 200)."""
    runs = []
    for rnd, scale in ((1, 1), (2, 2)):
        for th in (1, 8):
            ticks = {"tether": 100 * scale, "tether-tls-client": 120 * scale,
                     "tether-tls-server": 150 * scale,
                     "tether-tls-both": 180 if rnd == 1 else both_ticks_round_2}
            runs.append(["point_select", rnd, 0, "direct", th, 4, 100000, 25000, 0.2, 0, "", 0])
            runs += [["point_select", rnd, 1 + i, p, th, 4, 100000, 25000, 0.3, 0, ticks[p], 0]
                     for i, p in enumerate(ticks)]
        runs.append(["churn", rnd, 0, "direct", 4, 4, 20000, 5000, "", 0, "", 0])
        runs += [["churn", rnd, 1 + i, p, 4, 4, 10000, 2500, "", 0, t, 0]
                 for i, (p, t) in enumerate({"tether": 100, "tether-tls-client": 300,
                                             "tether-tls-server": 150, "tether-tls-both": 350}.items())]
    return runs


def tls_idle(both_after_kib):
    return [["direct", 1000, 1000, "", "", 1000, 0, 0.1], ["tether", 1000, 1000, 5000, 7000, 1000, 0, 0.1],
            ["tether-tls-client", 1000, 1000, 5000, 12000, 1000, 0, 0.1],
            ["tether-tls-server", 1000, 1000, 5000, 11000, 1000, 0, 0.1],
            ["tether-tls-both", 1000, 1000, 5000, both_after_kib, 1000, 0, 0.1]]


def test_tls_paths_are_ratios_to_plain_tether_in_the_same_round(tmp_path):
    rc, res, md = write_out(tmp_path, tls_runs(both_ticks_round_2=400), tls_idle(20000), TLS_META)
    assert rc == 0 and res["problems"] == []
    tls = res["tls"]
    assert tls["reference"] == "tether"
    # The machine's slowdown in round 2 cancels: 120/100 and 240/200 are both 1.2.
    assert tls["paths"]["tether-tls-client"]["cpu_per_query_ratio"]["8"]["per_round"] == [1.2, 1.2]
    assert tls["paths"]["tether-tls-server"]["cpu_per_query_ratio"]["1"]["median"] == 1.5
    both = tls["paths"]["tether-tls-both"]
    assert both["cpu_per_query_ratio"]["8"]["per_round"] == [1.8, 2.0]
    assert both["cpu_per_query_ratio"]["8"]["median"] == 1.9
    assert both["cpu_per_connection_ratio"]["median"] == 3.5
    assert both["command"] == "build/tether --tether-tls-both"
    # (20000 - 5000) KiB over 1000 idle connections; plain tether's 2,048 bytes taken off, over 2 sessions
    assert both["idle_bytes_per_connection"] == 15360
    assert both["idle_bytes_per_tls_session"] == (15360 - 2048) / 2
    # one TLS session: (12000 - 5000) KiB / 1000 - 2,048
    assert tls["paths"]["tether-tls-client"]["idle_bytes_per_tls_session"] == 5120
    assert tls["verdicts"]["cpu_per_query"] == {"path": "tether-tls-both", "worst_ratio": 1.9, "met": True}
    assert tls["verdicts"]["idle_bytes"] == {"worst_bytes": 6656, "met": True}
    assert "### TLS against plain tether" in md
    assert "| tether-tls-both | 1.900 (1.80-2.00) | 1.900 (1.80-2.00) | 3.500 | 15,360 | 6,656 |" in md
    assert "| tether-tls-client | 1.200 | 1.200 | 3.000 | 7,168 | 5,120 |" in md
    assert "at most 2x plain tether's: **met** (highest median over the thread counts: 1.90x)" in md
    assert "at most 16,384 bytes of tether's memory: **met** (highest of the TLS paths: 6,656 bytes; " \
        "an idle connection with TLS on both legs holds 15,360 bytes in all)" in md


def test_tls_goals_missed_are_said_so_and_are_not_run_problems(tmp_path):
    rc, res, md = write_out(tmp_path, tls_runs(both_ticks_round_2=500), tls_idle(43000), TLS_META)
    assert rc == 0 and res["problems"] == []  # a missed goal is a finding, not a broken run
    v = res["tls"]["verdicts"]
    assert v["cpu_per_query"]["worst_ratio"] == 2.15 and v["cpu_per_query"]["met"] is False
    # (43000 - 5000) KiB / 1000 = 38,912 bytes; less plain's 2,048, over 2 sessions: 18,432
    assert v["idle_bytes"] == {"worst_bytes": 18432, "met": False}
    assert "**NOT met** (highest median over the thread counts: 2.15x)" in md
    assert "**NOT met** (highest of the TLS paths: 18,432 bytes;" in md


FP_META = {**META, "paths": "direct tether tether-fp-off", "threads": "1 8", "fingerprints": "1",
           "cmd_tether": "build/tether --listen x", "cmd_tether-fp-off": "build/tether --listen y --statement-fingerprints off",
           "statements_tether": '2000 of 2000 held sessions show a last_statement: "SELECT ?"',
           "statements_tether-fp-off": "0 of 2000 held sessions show a last_statement"}


def fp_runs():
    """Two rounds; the machine is twice as slow in round 2, which both paths feel alike.
    Ticks of 10 ms over 100,000 queries: 1 tick = 0.1 us per query."""
    runs = []
    for rnd, scale in ((1, 1), (2, 2)):
        for th, (on, off) in ((1, (220, 200)), (8, (150, 120))):
            runs.append(["point_select", rnd, 0, "direct", th, 4, 100000, 25000, 0.2, 0, "", 0])
            # round 2: on 2x, off 2x as well except at 8 threads, where off is 250 (ratio 1.2)
            off_ticks = 250 if (rnd, th) == (2, 8) else off * scale
            runs.append(["point_select", rnd, 1, "tether", th, 4, 100000, 25000, 0.3, 0, on * scale, 0])
            runs.append(["point_select", rnd, 2, "tether-fp-off", th, 4, 100000, 25000, 0.3, 0, off_ticks, 0])
        runs.append(["churn", rnd, 0, "direct", 4, 4, 20000, 5000, "", 0, "", 0])
        runs.append(["churn", rnd, 1, "tether", 4, 4, 10000, 2500, "", 0, 105 * scale, 0])
        runs.append(["churn", rnd, 2, "tether-fp-off", 4, 4, 10000, 2500, "", 0, 100 * scale, 0])
    return runs


FP_IDLE = [["direct", 2000, 2000, "", "", 2000, 0, 0.1],
           ["tether", 2000, 2000, 5000, 10000, 2000, 0, 0.1],      # 2,560 bytes per session
           ["tether-fp-off", 2000, 2000, 5000, 9000, 2000, 0, 0.1]]  # 2,048


def test_fingerprints_on_against_off_per_round_and_per_idle_session(tmp_path):
    rc, res, md = write_out(tmp_path, fp_runs(), FP_IDLE, FP_META)
    assert rc == 0 and res["problems"] == []
    f = res["fingerprints"]
    assert (f["on"], f["off"]) == ("tether", "tether-fp-off")
    q1 = f["cpu_us_per_query"]["1"]
    # 220 ticks / 100,000 queries = 22 us, 440 = 44 us: median 33; off 20 and 40, median 30
    assert (q1["on"], q1["off"], q1["on_minus_off"]) == (33.0, 30.0, 3.0)
    assert q1["on_over_off"]["per_round"] == [1.1, 1.1] and q1["on_over_off"]["median"] == 1.1
    q8 = f["cpu_us_per_query"]["8"]
    # on 15 and 30 us; off 12 and 25 us: ratios 1.25 and 1.2, inside each round
    assert q8["on_over_off"]["per_round"] == [1.25, 1.2]
    assert q8["on_over_off"]["median"] == 1.225
    assert (q8["on"], q8["off"], q8["on_minus_off"]) == (22.5, 18.5, 4.0)
    c = f["cpu_us_per_connection"]
    # 105 ticks / 10,000 connections = 105 us and 210 us; off 100 and 200
    assert (c["on"], c["off"], c["on_minus_off"]) == (157.5, 150.0, 7.5)
    assert c["on_over_off"]["per_round"] == [1.05, 1.05]
    assert f["idle_bytes_per_session"] == {"on": 2560, "off": 2048, "on_minus_off": 512}
    assert f["commands"]["tether-fp-off"].endswith("--statement-fingerprints off")
    assert "### Statement fingerprints against tether with them off" in md
    assert "| CPU us per query, 1 thr | 33.00 | 30.00 | 1.100 | +3.00 |" in md
    assert "| CPU us per query, 8 thr | 22.50 | 18.50 | 1.225 (1.20-1.25) | +4.00 |" in md
    assert "| CPU us per churned connection | 157.5 | 150.0 | 1.050 | +7.5 |" in md
    assert "| bytes per idle session | 2,560 | 2,048 | 1.250 | +512 |" in md
    assert '- tether: `build/tether --listen x`; 2000 of 2000 held sessions show a last_statement: "SELECT ?"' in md
    # the other sections are still there, with the new path in them
    assert "| tether-fp-off | 25,000 | 1.000 | 25,000 | 1.000 |" in md
    assert "### Proxy CPU" in md and "| tether-fp-off | 30.00 | 18.50 | 150.0 |" in md


def test_without_fingerprints_the_report_has_no_such_section(tmp_path):
    runs = [r for r in fp_runs() if r[3] != "tether-fp-off"]
    meta = {**META, "paths": "direct tether", "threads": "1 8"}
    rc, res, md = write_out(tmp_path, runs, FP_IDLE[:2], meta)
    assert rc == 0 and "fingerprints" not in res and "Statement fingerprints" not in md


def test_fingerprints_missing_idle_figure_is_not_a_crash(tmp_path):
    rc, res, md = write_out(tmp_path, fp_runs(), FP_IDLE[:2], FP_META)  # no tether-fp-off idle row
    assert res["fingerprints"]["idle_bytes_per_session"] == {"on": 2560, "off": None, "on_minus_off": None}
    assert "| bytes per idle session | 2,560 | n/a | n/a | n/a |" in md


@pytest.mark.parametrize("args, flag", [
    (["--rounds", "1"], "--rounds"),
    (["--rounds", "x"], "--rounds"),
    (["--duration", "0"], "--duration"),
    (["--idle", "-5"], "--idle"),
    (["--threads", "1,8"], "--threads"),
    (["--base-port", "80"], "--base-port"),
    (["--candidate", "socat - -"], "--candidate"),
    (["--name", "nginx"], "--name"),
    (["--out"], "--out"),
    (["--frobnicate"], "--frobnicate"),
    (["--tls", "--candidate", "socat TCP-LISTEN:{listen_port} TCP:{upstream}"], "combined with --candidate"),
    (["--tls", "--base-port", "65530"], "--base-port"),  # P+10 would be past 65535
    (["--tls", "--name", "tether-tls-both"], "--name"),
    (["--fingerprints", "--tls"], "--fingerprints cannot be combined with --tls"),
    (["--tls", "--fingerprints", "--quick"], "--fingerprints cannot be combined with --tls"),
    (["--fingerprints", "--candidate", "socat TCP-LISTEN:{listen_port} TCP:{upstream}"],
     "--fingerprints measures build/tether"),
    (["--fingerprints", "--base-port", "65530"], "--base-port"),  # its admin port P+6 would be past 65535
    (["--fingerprints", "--quick", "--name", "tether-fp-off"], "--name"),
    (["--fingerprints", "--rounds", "1"], "--rounds"),
])
def test_bad_arguments_exit_2_naming_the_flag(args, flag):
    r = subprocess.run([str(RUN), *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert flag in r.stderr


def test_help_lists_every_option():
    r = subprocess.run([str(RUN), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for opt in ("--quick", "--rounds", "--duration", "--idle", "--out", "--candidate", "--name",
                "--threads", "--churn-workers", "--proxy-threads", "--base-port", "--keep-tmp",
                "--tls", "tether-tls-client", "tether-tls-server", "tether-tls-both",
                "--fingerprints", "tether-fp-off", "--statement-fingerprints off"):
        assert opt in r.stdout
