"""One block per run from run_eval.sh outputs: headline figures, then every attacker/legitimate operator's
case(s) with score and band (high >= 0.7, medium >= 0.4, else low: Case.RISK_HIGH / RISK_MEDIUM).

    python bench/holdout/summarize.py /tmp/hh/results/*.eval.json
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def band(score: float) -> str:
    return "high" if score >= 0.7 else "medium" if score >= 0.4 else "low"


def main(paths: list[str]) -> None:
    for path in paths:
        base = Path(path.removesuffix(".eval.json"))
        ev = json.loads(Path(path).read_text())
        truth = json.loads(Path(f"{base}.truth.json").read_text())
        cases = json.loads(Path(f"{base}.cases.json").read_text())
        run = json.loads(Path(f"{base}.run.json").read_text()) if Path(f"{base}.run.json").exists() else {}
        op_of, ops = truth["accounts"], truth["operators"]
        print(
            f"## {truth['mix']} seed {truth['seed']}  code {run.get('code', '?')}  load {run.get('load', '?')}  "
            f"ingest {run.get('ingest_s', '?')} s, full detect {run.get('full_detect_s', '?')} s"
        )
        print(
            f"flagged {ev['flagged_accounts']}  cases {ev['cases']}  B3 P {ev['bcubed_precision']:.3f} R {ev['bcubed_recall']:.3f} "  # noqa: E501
            f"F1 {ev['bcubed_f1']:.3f}  legit-in-attacker {ev['legitimate_in_attacker_cases']} "
            f"(any non-attacker {ev['non_attacker_in_attacker_cases']})  AUC {ev['auc']}  "
            f"unflagged attackers found {ev['unflagged_attacker_found_share']} of {ev['unflagged_attacker_accounts']} "
            f"(to a wrong operator: {ev['unflagged_added_to_wrong_operator']})"
        )
        held: dict[str, Counter] = {}
        for c in cases:
            for acc in c["accounts"]:
                held.setdefault(op_of.get(acc, "?"), Counter())[c["case_id"]] += 1
        by_id = {c["case_id"]: c for c in cases}
        for op, info in ops.items():
            if info["kind"] == "ordinary":
                continue
            size = sum(1 for o in op_of.values() if o == op)
            parts = []
            for cid, n in held.get(op, Counter()).most_common(4):
                c = by_id[cid]
                comp = Counter(op_of.get(a, "?") for a in c["accounts"])
                mixed = "" if len(comp) == 1 else f", case mixes {len(comp)} operators"
                parts.append(f"case {cid} ({n}/{size} accts, {c['score']:.3f} {band(c['score'])}{mixed})")
            print(f"  {info['kind']:<10} {op:<22} {', '.join(parts) or 'in no case'}")
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
