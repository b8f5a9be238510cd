#!/usr/bin/env python3
"""bench/report.py OUT: turns OUT/runs.tsv, idle.tsv and meta.tsv (written by bench/run) into
OUT/results.json and OUT/results.md.  Standard library only.

A path's figure is the median over rounds of its per-round values.  Its ratio to direct is taken
inside each round first (path / direct from the same round and thread count) and the median of
those per-round ratios is reported with their range: drift of a shared machine between rounds
then falls on both halves of a ratio and cancels.

Exit status 0, or 3 when the runs show a problem (errors, idle connections not opened, server
sessions left behind); a problem is listed at the end of results.md and in results.json.
"""
import csv
import json
import statistics
import sys
from pathlib import Path


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def read_meta(path):
    meta = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("\t")
        meta[key] = int(value) if value.isdigit() else value
    return meta


def median_or_none(values):
    return statistics.median(values) if values else None


class Series:
    """One figure of one kind of run, for every path and round: {path: {round: value}}."""

    def __init__(self, runs, field, value=None):
        """value(row) gives the figure of one run; by default the field itself as a number."""
        value = value or (lambda r: float(r[field]))
        self.by_path = {}
        for r in runs:
            if r[field] != "":
                self.by_path.setdefault(r["path"], {})[int(r["round"])] = value(r)

    def summary(self, path):
        mine, direct = self.by_path.get(path, {}), self.by_path.get("direct", {})
        ratios = {k: v / direct[k] for k, v in mine.items() if direct.get(k)}
        def r4(x):
            return None if x is None else round(x, 4)
        return {
            "median": r4(median_or_none(list(mine.values()))),
            "ratio_to_direct": r4(median_or_none(list(ratios.values()))),
            "ratio_min": r4(min(ratios.values())) if ratios else None,
            "ratio_max": r4(max(ratios.values())) if ratios else None,
            "per_round": [mine[k] for k in sorted(mine)],
            "per_round_ratio": [round(ratios[k], 4) for k in sorted(ratios)],
        }


def cpu_us_per_unit(ticks_per_s):
    """Proxy CPU microseconds per query or connection of one run."""
    def f(r):
        count = int(r["count"])
        return int(r["cpu_ticks"]) / ticks_per_s * 1e6 / count if count else 0.0
    return f


def build(out):
    meta = read_meta(out / "meta.tsv")
    runs, idle_rows = read_tsv(out / "runs.tsv"), read_tsv(out / "idle.tsv")
    paths = str(meta["paths"]).split()
    threads = [int(t) for t in str(meta["threads"]).split()]
    per_unit = cpu_us_per_unit(int(meta["ticks_per_s"]))
    result = {"meta": meta, "paths": paths, "point_select": {}, "churn": {}, "idle": {},
              "server_left_after_runs": {}, "problems": []}
    problems = result["problems"]

    for th in threads:
        rows = [r for r in runs if r["kind"] == "point_select" and int(r["threads"]) == th]
        qps, p95 = Series(rows, "rate"), Series(rows, "p95_ms")
        cpu = Series(rows, "cpu_ticks", per_unit)
        for p in paths:
            errors = sum(int(r["errors"]) for r in rows if r["path"] == p)
            result["point_select"].setdefault(p, {})[str(th)] = {
                "queries_per_s": qps.summary(p), "p95_ms": p95.summary(p),
                "proxy_cpu_us_per_query": cpu.summary(p) if p != "direct" else None,
                "errors": errors}
            if errors:
                problems.append(f"{p}: {errors} sysbench errors at {th} threads")

    rows = [r for r in runs if r["kind"] == "churn"]
    rate, cpu = Series(rows, "rate"), Series(rows, "cpu_ticks", per_unit)
    for p in paths:
        errors = sum(int(r["errors"]) for r in rows if r["path"] == p)
        result["churn"][p] = {"connections_per_s": rate.summary(p),
                              "proxy_cpu_us_per_connection": cpu.summary(p) if p != "direct" else None,
                              "errors": errors}
        if errors:
            problems.append(f"{p}: {errors} failed connection cycles in the churn runs")

    for p in paths:
        left = sum(int(r["server_left"]) for r in runs if r["path"] == p)
        result["server_left_after_runs"][p] = left
        if left:
            problems.append(f"{p}: {left} server sessions still open 10 s after its runs ended")

    for r in idle_rows:
        p, held, requested = r["path"], int(r["held"]), int(r["requested"])
        before, after = r["rss_before_kib"], r["rss_after_kib"]
        per_conn = (int(after) - int(before)) * 1024 / held if before and after and held else None
        result["idle"][p] = {
            "requested": requested, "held": held,
            "server_sessions_while_held": int(r["server_while_held"]),
            "proxy_rss_before_kib": int(before) if before else None,
            "proxy_rss_after_kib": int(after) if after else None,
            "proxy_rss_bytes_per_idle_connection": round(per_conn) if per_conn is not None else None,
            "server_left_after_close": int(r["server_left"]),
            "drain_s": float(r["drain_s"])}
        if held != requested:
            problems.append(f"{p}: held only {held} of {requested} idle connections")
        if int(r["server_left"]):
            problems.append(f"{p}: {r['server_left']} server sessions left after its idle clients closed")
    return result


def fmt(v, digits=0):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def ratio_cell(s):
    """'0.541 (0.50-0.57)': median of the per-round ratios and their range."""
    if s["ratio_to_direct"] is None:
        return "n/a"
    if s["ratio_min"] == s["ratio_max"]:
        return f"{s['ratio_to_direct']:.3f}"
    return f"{s['ratio_to_direct']:.3f} ({s['ratio_min']:.2f}-{s['ratio_max']:.2f})"


def markdown(res):
    m, paths = res["meta"], res["paths"]
    threads = [int(t) for t in str(m["threads"]).split()]
    name = m["candidate_name"]
    version = f" ({m['candidate_version']}, commit {m['commit']})" if m.get("candidate_version") else ""
    md = [f"# bench/run results, {m['date']}", "",
          f"Host: {m['host']}. MariaDB {m['mariadb']}, HAProxy {m['haproxy']}, nginx {m['nginx']}, "
          f"sysbench {m['sysbench']}. {m['rounds']} interleaved rounds of {m['duration_s']} s runs; "
          f"oltp_point_select on 1 table of {m['table_size']:,} rows; churn with {m['churn_workers']} "
          f"client threads; {m['idle']} idle connections; HAProxy and nginx with {m['proxy_threads']} "
          f"thread/worker. Other work kept {m['others_busy_before_pct']}% of the CPUs busy before the run "
          f"and {m['others_busy_after_pct']}% after it. Total {m['total_s']} s"
          f"{' (building and installing: ' + str(m['build_s']) + ' s)' if m.get('build_s') else ''}.",
          "", f"{name}: `{m['candidate']}`{version}", "",
          "Medians over rounds. `x direct` is the median of the per-round ratios path / direct "
          "(same round, same thread count), with their range over the rounds in brackets.", ""]

    ps = res["point_select"]
    for title, key, digits in (("throughput, queries/s (higher is better)", "queries_per_s", 0),
                               ("latency p95, ms (lower is better)", "p95_ms", 2)):
        md += [f"### oltp_point_select {title}", "",
               "| path | " + " | ".join(f"{t} thr | x direct" for t in threads) + " |",
               "|---|" + "---:|---:|" * len(threads)]
        for p in paths:
            cells = []
            for t in threads:
                s = ps[p][str(t)][key]
                cells += [fmt(s["median"], digits), ratio_cell(s)]
            md.append(f"| {p} | " + " | ".join(cells) + " |")
        md.append("")

    md += ["### Proxy CPU, microseconds per query and per connection (lower is better)", "",
           "utime + stime of the proxy's own processes (nginx: master and workers) across each run, "
           "divided by the queries sysbench completed or the connections the churn client completed.", "",
           "| path | " + " | ".join(f"per query {t} thr" for t in threads) + " | per connection (churn) |",
           "|---|" + "---:|" * (len(threads) + 1)]
    for p in paths[1:]:
        cells = [fmt(ps[p][str(t)]["proxy_cpu_us_per_query"]["median"], 2) for t in threads]
        cells.append(fmt(res["churn"][p]["proxy_cpu_us_per_connection"]["median"], 1))
        md.append(f"| {p} | " + " | ".join(cells) + " |")
    md.append("")

    md += ["### Connections", "",
           "| path | churn conn/s | x direct | idle held | reached server | proxy RSS bytes/idle conn "
           "| server conns left after close |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for p in paths:
        c, i = res["churn"][p]["connections_per_s"], res["idle"].get(p, {})
        md.append(f"| {p} | {fmt(c['median'])} | {ratio_cell(c)} | {i.get('held', 'n/a')} | "
                  f"{i.get('server_sessions_while_held', 'n/a')} | "
                  f"{fmt(i.get('proxy_rss_bytes_per_idle_connection'))} | "
                  f"{i.get('server_left_after_close', 'n/a')} |")
    if res["problems"]:
        md += ["", "**Problems:**", ""] + [f"- {x}" for x in res["problems"]]
    return "\n".join(md) + "\n"


def main():
    if len(sys.argv) != 2:
        print("usage: bench/report.py OUT", file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    res = build(out)
    (out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    (out / "results.md").write_text(markdown(res))
    return 3 if res["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
