"""Where do cases and operators disagree? Per multi-account operator: its cases, their scores and top reasons.

Usage (after ingest + detect on DATABASE_URL): .venv/bin/python bench/scenarios/diagnose.py TRUTH.json
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from accounts.models import Account  # noqa: E402
from investigations.models import Case, CaseMembership  # noqa: E402


def main() -> None:
    truth = json.loads(Path(sys.argv[1]).read_text())
    op_of, ops = truth["accounts"], truth["operators"]
    flagged = set(Account.objects.filter(flagged_at__isnull=False).values_list("account_id", flat=True))
    case_of = dict(CaseMembership.objects.values_list("account__account_id", "case_id"))
    cases = {c.id: c for c in Case.objects.filter(merged_into__isnull=True)}
    members = defaultdict(list)
    for account, case_id in case_of.items():
        members[case_id].append(account)
    accounts_of = defaultdict(list)
    for account, op in op_of.items():
        accounts_of[op].append(account)
    for op, info in ops.items():
        accts = accounts_of[op]  # truth files need not list each operator's accounts
        if info["kind"] == "ordinary" and not any(a in case_of for a in accts):
            continue
        if len(accts) < 2 and not any(a in case_of for a in accts):
            continue
        fl = [a for a in accts if a in flagged]
        where = Counter(case_of.get(a, "-") for a in fl)
        label = info.get("label", "")
        print(f"{op} {info['kind']:<10} {len(accts)} accts, {len(fl)} flagged; by case {dict(where)}  {label}")
        for case_id in sorted({case_of[a] for a in accts if a in case_of}):
            case = cases.get(case_id)
            if case is None:
                continue
            comp = Counter(ops[op_of.get(a, "?")]["kind"] if a in op_of else "?" for a in members[case_id])
            top = ", ".join(f"{r['factor']} {r['weight']:+.2f} ({r['value']})" for r in case.risk_reasons[:9])
            print(
                f"    case {case_id}: {len(members[case_id])} members {dict(comp)} score {case.risk_score:.3f}: {top}"
            )


if __name__ == "__main__":
    main()
