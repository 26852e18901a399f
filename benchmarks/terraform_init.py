"""Measure `terraform init` of a fresh workspace: cold (empty plugin cache) and warm (cache filled).

    .venv/bin/python benchmarks/terraform_init.py [--runs 3] [--root terraform_modules/blueprints/sandbox]

Cold runs each use a new LAUNCHPAD_HOME (mirror rebuilt, cache empty); warm runs share one home whose
cache the first init filled, each in a new empty working directory. Prints a table in seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provisioning import toolchain  # noqa: E402
from provisioning.terraform import TerraformRunner  # noqa: E402
from provisioning.workspace import render_workspace  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def timed_init(root: Path, home: Path, scratch: Path) -> float:
    os.environ["LAUNCHPAD_HOME"] = str(home)
    chain = toolchain.prepare(home)
    workspace = render_workspace(root, scratch / f"ws-{time.monotonic_ns()}", {})
    started = time.perf_counter()
    TerraformRunner(workspace.root, chain).run("init", input=False, backend=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--root", type=Path, default=REPO / "terraform_modules" / "blueprints" / "sandbox")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        cold = []
        for run in range(args.runs):
            home = scratch / f"cold-home-{run}"
            cold.append(timed_init(args.root, home, scratch))
            shutil.rmtree(home)
        warm_home = scratch / "warm-home"
        timed_init(args.root, warm_home, scratch)  # fills the cache
        warm = [timed_init(args.root, warm_home, scratch) for _ in range(args.runs)]
    print(f"terraform init of {args.root.relative_to(REPO) if args.root.is_relative_to(REPO) else args.root}")
    print(f"{'case':<6} {'runs':>4} {'min s':>7} {'median s':>9} {'max s':>7}")
    for name, values in (("cold", cold), ("warm", warm)):
        print(f"{name:<6} {len(values):>4} {min(values):>7.2f} {statistics.median(values):>9.2f} {max(values):>7.2f}")


if __name__ == "__main__":
    main()
