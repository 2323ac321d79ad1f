#!/usr/bin/env python3
"""The figures of tests/bench/run.sh from the passes' JSON lines.

  summarize.py best-rate PASS.json          per_s of the pass's best step
  summarize.py e2e WORK DELAY_LABEL         e2e metric lines (ratios to the raw client)
  summarize.py directory WORK DELAY_LABEL   apply_vs_raw_ldap metric lines
  summarize.py docs RESULTS.jsonl BENCHMARKS.md COMMAND SECONDS
                                            rewrites the results table between
                                            the markers of BENCHMARKS.md
"""
import datetime
import json
import os
import platform
import subprocess
import sys

BEGIN = "<!-- results:begin (tests/bench/run.sh writes this table) -->"
END = "<!-- results:end -->"


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def best(path):
    for rec in lines(path):
        if rec.get("best"):
            return rec
    raise SystemExit(f"no best step in {path}")


def emit(metric, value, **extra):
    print(json.dumps({"metric": metric, "value": value, **extra}, separators=(",", ":")), flush=True)


def ratio(a, b):
    return round(a / b, 3) if b > 0 else 0.0


def e2e(work, delay_label):
    raw = best(f"{work}/raw-loopback.json")
    raw_delay = best(f"{work}/raw-{delay_label}.json")
    one = lines(f"{work}/e2e-1agent-loopback.json")[-1]
    one_delay = lines(f"{work}/e2e-1agent-delay.json")[-1]
    two = lines(f"{work}/e2e-2agents-loopback.json")[-1]
    users = one["users"]
    emit("e2e_vs_raw_ldap", ratio(one["per_s"], raw["per_s"]), e2e_per_s=one["per_s"],
         raw_per_s=raw["per_s"], raw_window=raw["window"], users=users)
    emit("e2e_vs_raw_ldap_5ms", ratio(one_delay["per_s"], raw_delay["per_s"]),
         e2e_per_s=one_delay["per_s"], raw_per_s=raw_delay["per_s"],
         raw_window=raw_delay["window"], users=users, round_trip=delay_label)
    emit("e2e_2agents_vs_raw_ldap", ratio(two["per_s"], raw["per_s"]), e2e_per_s=two["per_s"],
         raw_per_s=raw["per_s"], users=users)
    for q in ("p50", "p99"):
        emit(f"latency_{q}_ms", one[f"latency_{q}_ms"], rate_per_s=one["latency_rate"],
             changes=one["latency_changes"], raw_per_s=raw["per_s"])
    for m in ("agent_rss_mb", "controller_rss_mb", "controller_cpu_s_per_1k_jobs",
              "agent_cpu_s_per_1k_jobs"):
        emit(m, one[m], users=users, measured_in="1 agent, loopback")


def directory(work, delay_label):
    for label, metric in (("loopback", "apply_vs_raw_ldap"), (delay_label, "apply_vs_raw_ldap_5ms")):
        raw, apply = best(f"{work}/raw-{label}.json"), best(f"{work}/apply-{label}.json")
        emit(metric, ratio(apply["per_s"], raw["per_s"]), apply_per_s=apply["per_s"],
             raw_per_s=raw["per_s"], apply_window=apply["window"], raw_window=raw["window"],
             users=raw["users"])


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    try:
        samba = "Samba " + subprocess.run(["samba", "--version"], capture_output=True,
                                          text=True).stdout.strip().removeprefix("Version ")
    except OSError:
        samba = "samba not found"
    return (f"{os.cpu_count()} cores ({model}), {mem_kb / 1048576:.0f} GiB, "
            f"Linux {platform.release()}, {samba}")


def docs(results, doc, command, seconds):
    rows = [r for r in lines(results) if "metric" in r]
    extra = lambda r: ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("metric", "value"))
    table = [BEGIN, "",
             f"Measured {datetime.date.today().isoformat()} on {machine()}.",
             f"Command: `{command}` ({int(seconds)} s).", "",
             "| metric | value | details |", "|---|---|---|"]
    table += [f"| `{r['metric']}` | {r['value']} | {extra(r)} |" for r in rows]
    table += ["", END]
    with open(doc) as f:
        text = f.read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + "\n".join(table) + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Latest results\n\n" + "\n".join(table) + "\n"
    with open(doc, "w") as f:
        f.write(text)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "best-rate":
        print(best(args[0])["per_s"])
    elif cmd == "e2e":
        e2e(*args)
    elif cmd == "directory":
        directory(*args)
    elif cmd == "docs":
        docs(*args)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
