#!/usr/bin/env python3
"""Issue 13's table from the raw lines of ../shared/bench/sidebyside.sh.

usage: ratios.py RAW.txt   (bench/sidebyside runs it)

Each wrk line reads `LABEL rps=.. p50=.. ... cpu[PID:Xus/req(Y%core) ...]`,
the first PID being the process measured (the gateway, or the direct
upstream). With several runs, each run gets its own table.
"""
import re
import sys

LINE = re.compile(r"^(?P<label>.+?)\s+rps=(?P<rps>\S+)\s+p50=(?P<p50>\S+)\s+p90=\S+\s+p99=\S+\s+"
                  r"load0=(?P<load>\S+)\s+box_busy=\S+\s+cpu\[(?P<cpu>[^\]]*)\]")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")


def parse(path):
    runs, current, tail, mem = [], {}, {}, {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("=== run"):
            current = {}
            runs.append((line[4:].strip(), current))
            continue
        if line.startswith("=== fan-out"):
            current = tail
            continue
        m = re.match(r"memory 200 x limit=1000 4src: VmHWM: (\d+) kB idle (\d+) kB", line)
        if m:
            mem["l4_1000"] = int(m.group(1)) / 1024
            mem["l4_1000_idle"] = int(m.group(2)) / 1024
            continue
        m = re.match(r"mem (\S+): VmHWM: (\d+) kB", line)
        if m:
            mem[m.group(1)] = int(m.group(2)) / 1024
            continue
        m = LINE.match(line)
        if m:
            cpu = re.match(r"\d+:([\d.]+)us/req", m.group("cpu").strip())
            current[m.group("label").strip()] = {
                "rps": float(m.group("rps") or "nan"),
                "p50": ms(m.group("p50")),
                "cpu": float(cpu.group(1)) if cpu else float("nan"),
                "load": m.group("load"),
            }
    return runs, tail, mem


def fmt(x, unit=""):
    if x != x:
        return "—"
    if unit == "ms":
        return f"{x:.3f} ms" if x < 10 else f"{x:.1f} ms"
    return f"{x:,.0f}{unit}"


def sources(n):
    return "1 source" if n == "1src" else "4 sources"


def table(run, tail, mem):
    g = lambda label, key: run.get(label, tail.get(label, {})).get(key, float("nan"))
    rows = []

    def row(figure, direct, base, lg, ratio, target, met):
        rows.append((figure, direct, base, lg, ratio, target,
                     "—" if met is None else "yes" if met else "no"))

    for n in ("1src", "4src"):
        b, l = g(f"baseline {n} c64", "rps"), g(f"loggate {n} c64", "rps")
        d = fmt(g("direct c64", "rps")) if n == "1src" else "—"
        row(f"requests/s, {sources(n)}, 64 connections", d, fmt(b), fmt(l),
            f"{l / b:.2f}× baseline", "≥ 0.7×", l / b >= 0.7)
    warn = g("loggate 4src c64 warn", "rps")
    row("requests/s, 4 sources, 64 conn., RUST_LOG=warn", "—", "—", fmt(warn),
        f"{warn / g('baseline 4src c64', 'rps'):.2f}× baseline", "—", None)
    for n in ("1src", "4src"):
        b, l = g(f"baseline {n} c64", "cpu"), g(f"loggate {n} c64", "cpu")
        row(f"gateway CPU per request, {sources(n)}, 64 conn.", "—", fmt(b, " µs"), fmt(l, " µs"),
            f"{l / b:.2f}× baseline", "≤ 1.5×", l / b <= 1.5)
    direct = g("direct c1", "p50")
    for n in ("1src", "4src"):
        b, l = g(f"baseline {n} c1", "p50"), g(f"loggate {n} c1", "p50")
        added_b, added_l = b - direct, l - direct
        row(f"p50 at 1 connection, {sources(n)}", fmt(direct, "ms"), fmt(b, "ms"), fmt(l, "ms"),
            f"added {added_l:.3f} ms = {added_l / added_b:.2f}× baseline's {added_b:.3f} ms",
            "≤ 1.5× added", added_l / added_b <= 1.5)
    slow = g("direct 50ms c16", "p50")
    b, l = g("baseline 4x50ms c16", "p50"), g("loggate 4x50ms c16", "p50")
    row("4 × 50 ms upstreams, 16 conn.: p50 / slowest alone", fmt(slow, "ms"),
        f"{fmt(b, 'ms')} ({b / slow:.2f}×)", fmt(l, "ms"), f"{l / slow:.2f}× slowest alone",
        "≤ 1.05×", l / slow <= 1.05)
    gb, gl = mem.get("g4", float("nan")), mem.get("l4", float("nan"))
    row("peak RSS, 4 sources, 64 connections", "—", f"{gb:.0f} MiB", f"{gl:.0f} MiB",
        f"{gl / gb:.2f}× baseline", "—", None)
    big = mem.get("l4_1000", float("nan"))
    row("peak RSS, 4 sources, 200 concurrent limit=1000", "—", "—",
        f"{big:.1f} MiB (idle {mem.get('l4_1000_idle', float('nan')):.1f})", "—", "< 64 MB",
        big * 1.048576 < 64)
    print("| figure | direct | baseline | loggate | loggate's ratio | target | met |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def main():
    runs, tail, mem = parse(sys.argv[1])
    logged = [l for l in open(sys.argv[1], encoding="utf-8") if l.startswith("loggate stderr bytes")]
    for name, run in runs:
        loads = sorted({v["load"] for v in list(run.values()) + list(tail.values())})
        print(f"\n{name} (1-minute load during the rows: {', '.join(loads)})")
        table(run, tail, mem)
    for line in logged:
        print(f"\n{line.strip()} (all processes' stderr over the whole run, default `info` logging)")


if __name__ == "__main__":
    main()
