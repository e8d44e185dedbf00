"""Write a scenario batch (NDJSON, ingest format v1) and its ground truth from `bench/scenarios/world.py`.

Usage:

    .venv/bin/python bench/scenarios/generate.py --mix baseline --seed 1 --accounts 1500 --days 10 \\
        --out /tmp/scen.ndjson [--truth /tmp/scen.truth.json]

Then ingest it, run detection and score the cases (or `bench/scenarios/run_eval.sh` does all three):

    manage.py ingest /tmp/scen.ndjson --wait && manage.py detect && manage.py evaluate --truth /tmp/scen.truth.json
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.scenarios.world import MIXES, World, write  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mix", choices=sorted(MIXES), default="baseline")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=1500)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--truth", type=Path)
    args = parser.parse_args()
    truth = args.truth or args.out.with_name(args.out.name.removesuffix(".ndjson") + ".truth.json")
    started = time.monotonic()
    world = World(accounts=args.accounts, days=args.days, seed=args.seed, mix=args.mix)
    counts = write(world, args.out, truth)
    kinds = Counter(op.kind for op in world.operators)
    flagged = sum(1 for op in world.operators for a in op.accounts if a.extra.get("flagged"))
    print(
        f"wrote {args.out}: {dict(counts)} in {time.monotonic() - started:.1f}s; "
        f"{sum(len(op.accounts) for op in world.operators)} accounts, {flagged} flagged; operators {dict(kinds)}; "
        f"truth {truth}"
    )
    for op in world.operators:
        if op.kind != "ordinary" and len(op.accounts) > 1:
            flagged_here = sum(1 for a in op.accounts if a.extra.get("flagged"))
            print(f"  {op.op_id} {op.kind:<10} {len(op.accounts):>4} accounts {flagged_here:>4} flagged  {op.label}")


if __name__ == "__main__":
    main()
