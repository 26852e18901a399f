"""Measure the check of a blueprint's variable rules by Terraform (provisioning.variable_rules.check_rules).

    .venv/bin/python benchmarks/variable_validation.py [--runs 50] [--blueprint sandbox]

First check: a new cache directory (the rules configuration written and `terraform init` run on it). Then
``--runs`` checks of the reported case (four values that break a rule) and as many of good values, each one
`terraform plan` on the cached configuration. Prints a table in milliseconds (median, p95, max).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provisioning.variable_rules import check_rules  # noqa: E402

GOOD = {"environment": "alice-sandbox", "tier": "dev", "region": "eu-west-1", "log_level": "info"}
BAD = {
    **GOOD,
    "web_api_desired_count": -1,
    "container_port": 99999,
    "log_level": "verbose-nonsense",
    "log_retention_days": 8,
}


def timed(blueprint: str, values: dict, cache_dir: Path) -> float:
    started = time.perf_counter()
    check_rules(blueprint, values, cache_dir=cache_dir)
    return (time.perf_counter() - started) * 1000


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--blueprint", default="sandbox")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp)
        first = timed(args.blueprint, BAD, cache_dir)
        cases = {
            "refused (4 rules broken)": [timed(args.blueprint, BAD, cache_dir) for _ in range(args.runs)],
            "accepted": [timed(args.blueprint, GOOD, cache_dir) for _ in range(args.runs)],
        }
    print(f"variable rules of the {args.blueprint} blueprint checked by Terraform, {args.runs} runs each")
    print(f"first check (rules configuration written, terraform init): {first:.0f} ms")
    print("| case | median ms | p95 ms | max ms |\n| --- | --- | --- | --- |")
    for name, values in cases.items():
        print(f"| {name} | {statistics.median(values):.0f} | {p95(values):.0f} | {max(values):.0f} |")


if __name__ == "__main__":
    main()
