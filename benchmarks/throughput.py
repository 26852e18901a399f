"""Measure throughput: N sandboxes requested at once through the API, with 1, 2 and 4 concurrent Celery runs.

    .venv/bin/python benchmarks/throughput.py [--count 8] [--concurrency 1 2 4] [--quick] [--json PATH]

For each concurrency c, a fresh throwaway Launchpad (benchmarks/harness.py: its own emulator, database and
broker; DATABASE_URL / CELERY_BROKER_URL honoured) with ONE Celery worker started with ``--concurrency c``
(prefork: c pool processes, each running one run at a time). The region's state store is made first (the
bootstrap, not measured); then ``--count`` dev sandboxes are POSTed at once (one thread each) and the clock
runs from the first request until every environment is ready (the latest run's finished time; the 0.5 s poll
of the API is reported beside it). Goal: 4 concurrent runs at least 2.5x faster than 1.

Memory: every 0.5 s the RSS and PSS of the worker's process tree (the worker, its pool processes, Terraform
and its provider plugins), from /proc. Reported: idle baseline (before the requests), peak, (peak - idle) / c,
and Terraform + provider per run (their memory divided by the Terraform processes alive, at its peak). PSS
splits shared pages (the provider's 170 MB binary, the pool's forked memory) among the processes using them,
so it is the better estimate of what one more concurrent run costs. Also the machine's CPU use while it ran.
Writes JSON to artifacts/throughput.json (LAUNCHPAD_ARTIFACTS moves it) or ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import ARTIFACTS, Launchpad, MemorySampler, cleanup_on_signals, cpu_seconds  # noqa: E402

GOAL_SPEEDUP = 2.5
MIB = 1024


def stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_split(worker_pid: int, emulator_pid: int) -> dict[str, float]:
    """CPU seconds so far: the worker's Python processes, the Terraform commands they ran (with the providers),
    and the emulator. A Terraform command still running counts with the worker: measure once all have ended."""
    worker, terraform = cpu_seconds(worker_pid)
    return {"worker": worker, "terraform": terraform, "emulator": sum(cpu_seconds(emulator_pid))}


def memory_figures(samples, idle_samples: int, concurrency: int) -> dict:
    busy = samples[idle_samples:]
    figures = {}
    for measure in ("rss", "pss"):
        total = [getattr(sample, f"{measure}_total") for sample in samples]
        baseline = statistics.median(total[:idle_samples])
        peak = max(total)
        per_run = [
            (getattr(sample, measure).get("terraform", 0) + getattr(sample, measure).get("provider", 0))
            / sample.terraform_processes
            for sample in busy
            if sample.terraform_processes
        ]
        figures[measure] = {
            "idle_mib": round(baseline / MIB),
            "peak_mib": round(peak / MIB),
            "per_concurrent_run_mib": round((peak - baseline) / MIB / concurrency),
            "terraform_and_provider_per_run_mib": round(max(per_run) / MIB) if per_run else None,
        }
    figures["max_terraform_processes"] = max((sample.terraform_processes for sample in samples), default=0)
    figures["samples"] = len(samples)
    return figures


def measure(concurrency: int, count: int, scratch: Path) -> dict:
    names = [f"tput-{concurrency}-{number}" for number in range(1, count + 1)]
    with Launchpad(
        scratch / f"c{concurrency}", concurrency=concurrency, log_dir=ARTIFACTS / f"throughput-logs/c{concurrency}"
    ) as launchpad:
        # The region's state store, made once per emulator (not what is measured); the worker then finds it.
        launchpad.state_store()
        emulator_pid = launchpad.emulator.process.pid
        with MemorySampler(launchpad.worker_pid, interval=0.5) as sampler:
            time.sleep(2.0)  # the idle baseline
            idle_samples = len(sampler.samples)
            cpu_before = cpu_times()
            used_before = cpu_split(launchpad.worker_pid, emulator_pid)
            started = time.time()
            with ThreadPoolExecutor(max_workers=count) as pool:
                sent = list(
                    pool.map(
                        lambda pair: launchpad.request_sandbox(pair[1], f"10.{10 + pair[0]}.0.0/16"),
                        enumerate(names),
                    )
                )
            seen = launchpad.wait_until_settled(names, interval=0.5)
            cpu_after = cpu_times()
            used = {
                key: value - used_before[key] for key, value in cpu_split(launchpad.worker_pid, emulator_pid).items()
            }
        runs = {name: launchpad.last_run(name) for name in names}
    finished = {name: stamp(run["finished_at"]) for name, run in runs.items()}
    latencies = [finished[name] - sent_at for name, sent_at in zip(names, sent, strict=True)]
    busy = (cpu_after[0] - cpu_before[0]) / max(1, cpu_after[1] - cpu_before[1])
    return {
        "concurrency": concurrency,
        "count": count,
        "seconds": round(max(finished.values()) - started, 2),
        "seen_seconds": round(max(seen.values()) - started, 2),
        "mean_latency_seconds": round(statistics.mean(latencies), 2),
        "cpu_busy_fraction": round(busy, 3),
        # CPU seconds: the worker's Python, its Terraform commands and providers, the emulator (moto, one process).
        "cpu_seconds": {key: round(value, 1) for key, value in used.items()},
        "memory": memory_figures(sampler.samples, idle_samples, concurrency),
        "phases": phase_medians(runs),
    }


def phase_medians(runs: dict[str, dict]) -> dict:
    """Median seconds each run waited for a worker (created → started) and worked (started → finished)."""
    waited = [stamp(run["started_at"]) - stamp(run["created_at"]) for run in runs.values()]
    worked = [stamp(run["finished_at"]) - stamp(run["started_at"]) for run in runs.values()]
    return {"queued_median": round(statistics.median(waited), 2), "working_median": round(statistics.median(worked), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--quick", action="store_true", help="2 environments, concurrency 1 and 2 (a cheap rerun)")
    parser.add_argument(
        "--json", type=Path, default=None, help="where to write the figures (artifacts/throughput.json)"
    )
    args = parser.parse_args()
    count, levels = (2, [1, 2]) if args.quick else (args.count, args.concurrency)
    cleanup_on_signals()
    results = []
    with tempfile.TemporaryDirectory(prefix="launchpad-throughput-") as tmp:
        for concurrency in levels:
            results.append(measure(concurrency, count, Path(tmp)))
            print(f"concurrency {concurrency}: {count} ready in {results[-1]['seconds']:.1f} s", flush=True)
    report(results, args.json or ARTIFACTS / "throughput.json")


def report(results: list[dict], json_path: Path) -> None:
    base = next((r for r in results if r["concurrency"] == 1), results[0])
    print()
    print("One Celery worker with --concurrency c (prefork: c runs at once); a fresh emulator and database each.")
    print()
    print(
        "| concurrent runs | N | s to all ready | speedup vs 1 | s per environment (total / N) | mean s API → ready |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        r["speedup"] = round(base["seconds"] / r["seconds"], 2)
        print(
            f"| {r['concurrency']} | {r['count']} | {r['seconds']:.1f} | {r['speedup']:.2f} "
            f"| {r['seconds'] / r['count']:.1f} | {r['mean_latency_seconds']:.1f} |"
        )
    print()
    print(
        "| concurrent runs | CPU busy (machine) | CPU s worker (Python) | CPU s Terraform + providers | CPU s emulator "
        "| run queued (median s) "
        "| run working (median s) | max Terraform commands at once |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        cpu = r["cpu_seconds"]
        print(
            f"| {r['concurrency']} | {r['cpu_busy_fraction']:.0%} | {cpu['worker']:.0f} | {cpu['terraform']:.0f} "
            f"| {cpu['emulator']:.0f} | {r['phases']['queued_median']:.1f} "
            f"| {r['phases']['working_median']:.1f} | {r['memory']['max_terraform_processes']} |"
        )
    print()
    print("Worker process tree memory (MiB; RSS counts shared pages in every process, PSS splits them):")
    print()
    print(
        "| concurrent runs | idle RSS | peak RSS | (peak - idle) / c RSS | Terraform + provider per run RSS | idle PSS "
        "| peak PSS | (peak - idle) / c PSS | Terraform + provider per run PSS |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        rss, pss = r["memory"]["rss"], r["memory"]["pss"]
        print(
            f"| {r['concurrency']} | {rss['idle_mib']} | {rss['peak_mib']} | {rss['per_concurrent_run_mib']} "
            f"| {rss['terraform_and_provider_per_run_mib']} | {pss['idle_mib']} | {pss['peak_mib']} "
            f"| {pss['per_concurrent_run_mib']} | {pss['terraform_and_provider_per_run_mib']} |"
        )
    top = max(results, key=lambda r: r["concurrency"])
    goal_met = top["concurrency"] >= 4 and top["speedup"] >= GOAL_SPEEDUP
    summary = {
        "results": results,
        "goal": f"4 concurrent runs >= {GOAL_SPEEDUP}x faster than 1",
        "goal_met": goal_met,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    print(f"\ngoal ({summary['goal']}): {'met' if goal_met else 'NOT met'}; load average {os.getloadavg()}")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(summary, indent=2))
    print(f"figures written to {json_path}")


if __name__ == "__main__":
    main()
