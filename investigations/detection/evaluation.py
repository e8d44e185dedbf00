"""How good are the cases? Scores against a simulator's ground truth (`simulate --out TRUTH.json`).

- B-cubed precision/recall/F1 of cases against operators, over flagged accounts
  (a flagged account in no case is its own singleton cluster; an operator's
  set is its flagged accounts only, so both sides see the same items).
- Legitimate (and ordinary) accounts put into attacker cases: the costly error,
  an innocent account next to a ban button.
- Share of the unflagged attacker accounts that landed in a case of their operator.
- ROC AUC of risk scores, attacker vs legitimate operators: an operator's score
  is the score of the case holding most of its accounts (0 when none).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from accounts.models import Account
from investigations.models import Case, CaseMembership


class TruthError(ValueError):
    """The truth file is missing, not JSON, or not in the simulator's format."""


def truth_load(path: str | Path) -> dict:
    try:
        truth = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TruthError(f"cannot read truth file {path}: {exc}") from exc
    if (
        not isinstance(truth, dict)
        or not isinstance(truth.get("operators"), dict)
        or not isinstance(truth.get("accounts"), dict)
    ):
        raise TruthError("truth must be an object with 'operators' and 'accounts' maps")
    return truth


def _auc(positives: list[float], negatives: list[float]) -> float | None:
    """Probability that a random attacker outscores a random legitimate operator (ties count half)."""
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def evaluate(*, truth: dict) -> dict:
    """All figures as a dict (see the module docstring)."""
    op_of: dict[str, str] = truth["accounts"]
    kind_of_op = {op: info.get("kind", "ordinary") for op, info in truth["operators"].items()}
    case_of: dict[str, int] = dict(CaseMembership.objects.values_list("account__account_id", "case_id"))
    live = set(Case.objects.filter(merged_into__isnull=True).values_list("id", flat=True))
    case_of = {a: c for a, c in case_of.items() if c in live}
    scores = dict(Case.objects.filter(id__in=live).values_list("id", "risk_score"))
    flagged = set(Account.objects.filter(flagged_at__isnull=False).values_list("account_id", flat=True))
    flagged &= set(op_of)

    # B-cubed over flagged accounts.
    cluster_members: dict[object, set[str]] = defaultdict(set)
    operator_members: dict[str, set[str]] = defaultdict(set)
    for account in flagged:
        cluster_members[case_of.get(account, ("single", account))].add(account)
        operator_members[op_of[account]].add(account)
    precision = recall = 0.0
    for account in flagged:
        cluster = cluster_members[case_of.get(account, ("single", account))]
        operator = operator_members[op_of[account]]
        both = len(cluster & operator)
        precision += both / len(cluster)
        recall += both / len(operator)
    n = len(flagged) or 1
    precision, recall = precision / n, recall / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    # The operator each case mostly holds.
    members_of_case: dict[int, list[str]] = defaultdict(list)
    for account, case_id in case_of.items():
        members_of_case[case_id].append(account)
    case_operator = {
        case_id: Counter(op_of.get(a, "?") for a in accounts).most_common(1)[0][0]
        for case_id, accounts in members_of_case.items()
    }
    attacker_cases = {c for c, op in case_operator.items() if kind_of_op.get(op) == "attacker"}
    innocent_in_attacker = sorted(
        a
        for c in attacker_cases
        for a in members_of_case[c]
        if kind_of_op.get(op_of.get(a, ""), "ordinary") != "attacker"
    )
    legit_in_attacker = [a for a in innocent_in_attacker if kind_of_op.get(op_of.get(a, "")) == "legitimate"]

    unflagged_attackers = [a for a, op in op_of.items() if kind_of_op.get(op) == "attacker" and a not in flagged]
    found = [a for a in unflagged_attackers if a in case_of and case_operator.get(case_of[a]) == op_of[a]]
    wrongly_added = [
        a for a, c in case_of.items() if a not in flagged and op_of.get(a) and case_operator.get(c) != op_of.get(a)
    ]

    op_scores: dict[str, float] = {}
    for op, kind in kind_of_op.items():
        if kind not in ("attacker", "legitimate"):
            continue
        held = Counter(case_of[a] for a, o in op_of.items() if o == op and a in case_of)
        op_scores[op] = scores.get(held.most_common(1)[0][0], 0.0) if held else 0.0
    auc = _auc(
        [s for op, s in op_scores.items() if kind_of_op[op] == "attacker"],
        [s for op, s in op_scores.items() if kind_of_op[op] == "legitimate"],
    )
    return {
        "seed": truth.get("seed"),
        "mix": truth.get("mix"),
        "flagged_accounts": len(flagged),
        "cases": len(members_of_case),
        "bcubed_precision": round(precision, 4),
        "bcubed_recall": round(recall, 4),
        "bcubed_f1": round(f1, 4),
        "legitimate_in_attacker_cases": len(legit_in_attacker),
        "non_attacker_in_attacker_cases": len(innocent_in_attacker),
        "unflagged_attacker_accounts": len(unflagged_attackers),
        "unflagged_attacker_found_share": (
            round(len(found) / len(unflagged_attackers), 4) if unflagged_attackers else None
        ),
        "unflagged_added_to_wrong_operator": len(wrongly_added),
        "auc": None if auc is None else round(auc, 4),
        "operator_scores": {op: round(s, 3) for op, s in sorted(op_scores.items())},
        "operator_kinds": {op: kind_of_op[op] for op in sorted(op_scores)},
    }


def evaluation_text(result: dict) -> str:
    lines = [
        f"seed {result['seed']}  mix {result['mix']}  flagged accounts {result['flagged_accounts']}  "
        f"cases {result['cases']}",
        f"B-cubed precision {result['bcubed_precision']:.4f}  recall {result['bcubed_recall']:.4f}  "
        f"F1 {result['bcubed_f1']:.4f}",
        f"legitimate accounts in attacker cases: {result['legitimate_in_attacker_cases']} "
        f"(any non-attacker: {result['non_attacker_in_attacker_cases']})",
        f"unflagged attacker accounts found: {result['unflagged_attacker_found_share']} "
        f"of {result['unflagged_attacker_accounts']}; unflagged accounts added to a wrong operator: "
        f"{result['unflagged_added_to_wrong_operator']}",
        f"ROC AUC attacker vs legitimate operators: {result['auc']}",
    ]
    for op, score in result["operator_scores"].items():
        lines.append(f"  {op:<24} {result['operator_kinds'][op]:<11} score {score:.3f}")
    return "\n".join(lines)
