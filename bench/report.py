#!/usr/bin/env python3
"""bench/report.py OUT: turns OUT/runs.tsv, idle.tsv and meta.tsv (written by bench/run) into
OUT/results.json and OUT/results.md.  Standard library only.

A path's figure is the median over rounds of its per-round values.  Its ratio to direct is taken
inside each round first (path / direct from the same round and thread count) and the median of
those per-round ratios is reported with their range: drift of a shared machine between rounds
then falls on both halves of a ratio and cancels.

With --tls (meta "tls"), the TLS paths' CPU per query and per connection are also taken as ratios
to the plain candidate's (tether) in the same round, and judged with their bytes per idle TLS
session (above plain tether's per idle connection) against the goals TLS_GOALS.

With --fingerprints (meta "fingerprints"), tether (statement fingerprints on, the default) is set
against FP_OFF (the same flags plus --statement-fingerprints off): CPU per query at each thread
count and per churned connection, each path's median and on / off inside each round, and bytes
per idle session of each and their difference.

Exit status 0, or 3 when the runs show a problem (errors, idle connections not opened, server
sessions left behind); a problem is listed at the end of results.md and in results.json.
"""
import csv
import json
import statistics
import sys
from pathlib import Path

# Issue 9's goals: TLS on both legs costs at most 2x plain tether's CPU per oltp_point_select
# query; an idle TLS session holds at most 16 KiB of tether's memory.
TLS_GOALS = {"cpu_ratio_max": 2.0, "idle_bytes_max": 16 * 1024}
TLS_BOTH = "tether-tls-both"
FP_OFF = "tether-fp-off"


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

    def ratios(self, path, reference):
        """path / reference inside each round: their median, range and per-round values."""
        mine, ref = self.by_path.get(path, {}), self.by_path.get(reference, {})
        ratios = {k: v / ref[k] for k, v in mine.items() if ref.get(k)}
        return {
            "median": r4(median_or_none(list(ratios.values()))),
            "min": r4(min(ratios.values())) if ratios else None,
            "max": r4(max(ratios.values())) if ratios else None,
            "per_round": [round(ratios[k], 4) for k in sorted(ratios)],
        }

    def summary(self, path):
        mine, ratios = self.by_path.get(path, {}), self.ratios(path, "direct")
        return {
            "median": r4(median_or_none(list(mine.values()))),
            "ratio_to_direct": ratios["median"],
            "ratio_min": ratios["min"],
            "ratio_max": ratios["max"],
            "per_round": [mine[k] for k in sorted(mine)],
            "per_round_ratio": ratios["per_round"],
        }


def r4(x):
    return None if x is None else round(x, 4)


def cpu_us_per_unit(ticks_per_s):
    """Proxy CPU microseconds per query or connection of one run."""
    def f(r):
        count = int(r["count"])
        return int(r["cpu_ticks"]) / ticks_per_s * 1e6 / count if count else 0.0
    return f


def cpu_summary(cpu, path, paths):
    """A proxy's CPU figure; beside nginx's, also as the median of the per-round ratios to it
    (`ratio_to_nginx`): the paired comparison, which the machine's drift moves least."""
    if path == "direct":
        return None
    s = cpu.summary(path)
    if "nginx" in paths and path != "nginx":
        r = cpu.ratios(path, "nginx")
        s.update({"ratio_to_nginx": r["median"], "ratio_to_nginx_min": r["min"],
                  "ratio_to_nginx_max": r["max"], "per_round_ratio_to_nginx": r["per_round"]})
    return s


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
                "proxy_cpu_us_per_query": cpu_summary(cpu, p, paths),
                "errors": errors}
            if errors:
                problems.append(f"{p}: {errors} sysbench errors at {th} threads")

    rows = [r for r in runs if r["kind"] == "churn"]
    rate, cpu = Series(rows, "rate"), Series(rows, "cpu_ticks", per_unit)
    for p in paths:
        errors = sum(int(r["errors"]) for r in rows if r["path"] == p)
        result["churn"][p] = {"connections_per_s": rate.summary(p),
                              "proxy_cpu_us_per_connection": cpu_summary(cpu, p, paths),
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
    if meta.get("tls"):
        result["tls"] = tls_against_plain(meta, runs, result, threads, per_unit)
    if meta.get("fingerprints"):
        result["fingerprints"] = fingerprints_against_off(meta, runs, result, threads, per_unit)
    return result


def fingerprints_against_off(meta, runs, result, threads, per_unit):
    """tether with statement fingerprints (the candidate, default on) against FP_OFF: each one's
    CPU per query and per churned connection (median over rounds), on / off inside each round,
    on - off of the medians; bytes per idle session of each and on - off."""
    on, off = meta["candidate_name"], FP_OFF

    def compare(series):
        a, b = series.summary(on)["median"], series.summary(off)["median"]
        return {"on": a, "off": b, "on_over_off": series.ratios(on, off),
                "on_minus_off": r4(a - b) if a is not None and b is not None else None}

    query_cpu = {th: Series([r for r in runs if r["kind"] == "point_select" and int(r["threads"]) == th],
                            "cpu_ticks", per_unit) for th in threads}
    idle = {p: result["idle"].get(p, {}).get("proxy_rss_bytes_per_idle_connection") for p in (on, off)}
    return {
        "on": on, "off": off,
        "commands": {p: meta.get(f"cmd_{p}") for p in (on, off)},
        "statements": {p: meta.get(f"statements_{p}") for p in (on, off)},
        "cpu_us_per_query": {str(th): compare(query_cpu[th]) for th in threads},
        "cpu_us_per_connection": compare(Series([r for r in runs if r["kind"] == "churn"], "cpu_ticks", per_unit)),
        "idle_bytes_per_session": {
            "on": idle[on], "off": idle[off],
            "on_minus_off": idle[on] - idle[off] if None not in idle.values() else None},
    }


def tls_against_plain(meta, runs, result, threads, per_unit):
    """Each TLS path's CPU as a ratio to the plain candidate's in the same round, its bytes per
    idle connection, and the goals' verdicts."""
    plain = meta["candidate_name"]
    tls_paths = [p for p in result["paths"] if p.startswith("tether-tls-")]
    out = {"reference": plain, "goals": TLS_GOALS, "paths": {}, "verdicts": {}}
    churn_cpu = Series([r for r in runs if r["kind"] == "churn"], "cpu_ticks", per_unit)
    query_cpu = {th: Series([r for r in runs if r["kind"] == "point_select" and int(r["threads"]) == th],
                            "cpu_ticks", per_unit) for th in threads}
    for p in tls_paths:
        out["paths"][p] = {
            "command": meta.get(f"cmd_{p}"), "legs": meta.get(f"legs_{p}"),
            "cpu_per_query_ratio": {str(th): query_cpu[th].ratios(p, plain) for th in threads},
            "cpu_per_connection_ratio": churn_cpu.ratios(p, plain),
            "idle_bytes_per_connection": result["idle"].get(p, {}).get("proxy_rss_bytes_per_idle_connection")}
        out["paths"][p]["idle_bytes_per_tls_session"] = per_tls_session(
            out["paths"][p]["idle_bytes_per_connection"],
            result["idle"].get(plain, {}).get("proxy_rss_bytes_per_idle_connection"), tls_legs(p))

    cpu = out["paths"].get(TLS_BOTH, {}).get("cpu_per_query_ratio", {})
    worst = max((v["median"] for v in cpu.values() if v["median"] is not None), default=None)
    out["verdicts"]["cpu_per_query"] = {
        "path": TLS_BOTH, "worst_ratio": worst,
        "met": None if worst is None else worst <= TLS_GOALS["cpu_ratio_max"]}
    idle = {p: v["idle_bytes_per_tls_session"] for p, v in out["paths"].items()}
    known = [b for b in idle.values() if b is not None]
    out["verdicts"]["idle_bytes"] = {
        "worst_bytes": max(known) if known else None,
        "met": None if len(known) < len(idle) or not known else max(known) <= TLS_GOALS["idle_bytes_max"]}
    return out


def tls_legs(path):
    return 2 if path == TLS_BOTH else 1


def per_tls_session(tls_bytes, plain_bytes, legs):
    """What TLS adds to an idle connection (its bytes above plain tether's), per TLS session on it."""
    if tls_bytes is None or plain_bytes is None:
        return None
    return round((tls_bytes - plain_bytes) / legs)


def fmt(v, digits=0):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def range_cell(median, low, high):
    """'0.541 (0.50-0.57)': median of the per-round ratios and their range."""
    if median is None:
        return "n/a"
    if low == high:
        return f"{median:.3f}"
    return f"{median:.3f} ({low:.2f}-{high:.2f})"


def ratio_cell(s):
    return range_cell(s["ratio_to_direct"], s["ratio_min"], s["ratio_max"])


def verdict(met):
    return {True: "met", False: "NOT met", None: "not measured"}[met]


def tls_markdown(res, threads):
    t, plain = res["tls"], res["tls"]["reference"]
    goals, v = t["goals"], t["verdicts"]
    md = [f"### TLS against plain {plain} (goals: both legs at most {goals['cpu_ratio_max']:g}x its CPU "
          f"per query, at most {goals['idle_bytes_max'] // 1024} KiB per idle TLS session)", "",
          f"Each TLS path's own CPU per query or per churned connection divided by plain {plain}'s in "
          "the same round (median over rounds, range in brackets); its RSS bytes per idle "
          f"connection, and per TLS session: the bytes above plain {plain}'s, halved for "
          "tether-tls-both (two TLS sessions per connection). The churn client (libmariadb) "
          "never resumes a TLS session, so each churned connection over a TLS client leg is a full "
          "handshake.", "",
          "| path | " + " | ".join(f"CPU/query {th} thr x {plain}" for th in threads)
          + f" | CPU/connection x {plain} | bytes/idle conn | bytes/idle TLS session |",
          "|---|" + "---:|" * (len(threads) + 3)]
    for p, s in t["paths"].items():
        ratios = [s["cpu_per_query_ratio"][str(th)] for th in threads] + [s["cpu_per_connection_ratio"]]
        cells = [range_cell(r["median"], r["min"], r["max"]) for r in ratios]
        cells += [fmt(s["idle_bytes_per_connection"]), fmt(s["idle_bytes_per_tls_session"])]
        md.append(f"| {p} | " + " | ".join(cells) + " |")
    worst_cpu, worst_idle = v["cpu_per_query"]["worst_ratio"], v["idle_bytes"]["worst_bytes"]
    both_conn = t["paths"].get(TLS_BOTH, {}).get("idle_bytes_per_connection")
    md += ["",
           f"- CPU per query, TLS on both legs at most {goals['cpu_ratio_max']:g}x plain {plain}'s: "
           f"**{verdict(v['cpu_per_query']['met'])}** (highest median over the thread counts: "
           f"{'n/a' if worst_cpu is None else f'{worst_cpu:.2f}x'}).",
           f"- An idle TLS session at most {goals['idle_bytes_max']:,} bytes of tether's memory: "
           f"**{verdict(v['idle_bytes']['met'])}** (highest of the TLS paths: {fmt(worst_idle)} bytes; "
           f"an idle connection with TLS on both legs holds {fmt(both_conn)} bytes in all).",
           ""]
    m = res["meta"]
    if m.get(f"legs_{plain}"):
        md.append(f"- {plain}: {m[f'legs_{plain}']}")
    md += [f"- {p}: `{s['command']}`; {s['legs']}" for p, s in t["paths"].items() if s["command"]]
    return md


def signed(v, digits=0):
    return "n/a" if v is None else f"{v:+,.{digits}f}"


def fingerprints_markdown(res, threads):
    f = res["fingerprints"]
    on, off = f["on"], f["off"]
    md = [f"### Statement fingerprints against {on} with them off", "",
          f"{on} keeps statement fingerprints on (the default), {off} runs with the same flags and "
          "`--statement-fingerprints off`. CPU: each one's own microseconds (median over rounds); "
          "on / off is taken inside each round, its median with the range in brackets. Bytes: the "
          "rise of RSS per idle session while the idle connections are held, each after one "
          "~150-byte SELECT with literals.", "",
          f"| figure | {on} (on) | {off} | on / off | on - off |", "|---|---:|---:|---:|---:|"]
    rows = [(f"CPU us per query, {th} thr", f["cpu_us_per_query"][str(th)], 2) for th in threads]
    rows.append(("CPU us per churned connection", f["cpu_us_per_connection"], 1))
    for label, c, digits in rows:
        r = c["on_over_off"]
        md.append(f"| {label} | {fmt(c['on'], digits)} | {fmt(c['off'], digits)} | "
                  f"{range_cell(r['median'], r['min'], r['max'])} | {signed(c['on_minus_off'], digits)} |")
    b = f["idle_bytes_per_session"]
    ratio = b["on"] / b["off"] if b["on"] is not None and b["off"] else None
    md.append(f"| bytes per idle session | {fmt(b['on'])} | {fmt(b['off'])} | "
              f"{'n/a' if ratio is None else f'{ratio:.3f}'} | {signed(b['on_minus_off'])} |")
    md.append("")
    for p in (on, off):
        if f["commands"][p]:
            md.append(f"- {p}: `{f['commands'][p]}`" + (f"; {f['statements'][p]}" if f["statements"][p] else ""))
    return md


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
    beside_nginx = [p for p in paths[1:] if "ratio_to_nginx" in res["churn"][p]["proxy_cpu_us_per_connection"]]
    if beside_nginx:
        md += ["The same figures as ratios to nginx's in the same round (median of the per-round ratios, "
               "range in brackets; below 1 costs less than nginx):", "",
               "| path | " + " | ".join(f"per query {t} thr x nginx" for t in threads)
               + " | per connection x nginx |",
               "|---|" + "---:|" * (len(threads) + 1)]
        for p in beside_nginx:
            figures = [ps[p][str(t)]["proxy_cpu_us_per_query"] for t in threads]
            figures.append(res["churn"][p]["proxy_cpu_us_per_connection"])
            cells = [range_cell(f["ratio_to_nginx"], f["ratio_to_nginx_min"], f["ratio_to_nginx_max"]) for f in figures]
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
    if "tls" in res:
        md += [""] + tls_markdown(res, threads)
    if "fingerprints" in res:
        md += [""] + fingerprints_markdown(res, threads)
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
