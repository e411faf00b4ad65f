"""Prints what mobileid-stack measured: per function the cold starts, instances and gateway
latency (cold and warm), and per route p50/p99 with and without cold starts.

Usage: stack_report.py CONTROL_URL [--since FILE] [--save FILE] [--json]
  --since FILE  report only what happened after the snapshot FILE (saved with --save): the
                counters are differences, the latencies those recorded since the snapshot
                was taken (the runner's route latencies are cleared when --save is given)
  --save FILE   write the current figures to FILE (and clear the route latencies)
  --json        print JSON instead of tables
"""

import json
import sys
import urllib.request

COUNTERS = ["invocations", "cold_starts", "instances_started", "function_errors", "timeouts",
            "throttles", "killed_by_fault"]


def get(url, method="GET"):
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def fmt(value):
    return "-" if value is None else f"{value:.1f}"


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    control, args = argv[0].rstrip("/"), argv[1:]
    since = save = None
    as_json = "--json" in args
    if "--since" in args:
        since = json.load(open(args[args.index("--since") + 1]))
    if "--save" in args:
        save = args[args.index("--save") + 1]
    stats = get(f"{control}/stats")
    if save:
        json.dump(stats, open(save, "w"))
        get(f"{control}/stats/latencies", method="DELETE")
        return 0
    before = {f["function"]: f for f in (since or {}).get("functions", [])}
    rows = []
    for f in stats["functions"]:
        base = before.get(f["function"], {})
        row = {k: f[k] - base.get(k, 0) for k in COUNTERS}
        row.update(function=f["function"], limit=f["limit"], peak_concurrency=f["peak_concurrency"],
                   peak_rss_mib=round(f["peak_rss_kib"] / 1024, 1),
                   cold_start_cpu_ms_max=f["cold_start_cpu_ms_max"])
        rows.append(row)
    report = {"functions": rows, "routes": stats["routes"]}
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{'function':<20}{'invocations':>12}{'cold starts':>12}{'instances':>10}"
          f"{'peak conc.':>11}{'errors':>8}{'timeouts':>9}{'throttled':>10}{'killed':>7}{'RSS MiB':>8}")
    for r in rows:
        print(f"{r['function']:<20}{r['invocations']:>12}{r['cold_starts']:>12}"
              f"{r['instances_started']:>10}{r['peak_concurrency']:>11}{r['function_errors']:>8}"
              f"{r['timeouts']:>9}{r['throttles']:>10}{r['killed_by_fault']:>7}{r['peak_rss_mib']:>8}")
    print()
    print(f"{'route (gateway latency, ms)':<40}{'warm n':>8}{'p50':>8}{'p99':>8}"
          f"{'cold n':>8}{'p50':>8}{'p99':>8}")
    for r in stats["routes"]:
        w, c = r["warm"], r["cold"]
        print(f"{r['route']:<40}{w['count']:>8}{fmt(w['p50']):>8}{fmt(w['p99']):>8}"
              f"{c['count']:>8}{fmt(c['p50']):>8}{fmt(c['p99']):>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
