"""Explain evaluation failures from the database: which links joined different operators into one case,
which innocent accounts sit in attacker cases and why, which flagged accounts of an operator were split off.

    python bench/holdout/diagnose.py --db hydra_h --truth T.json [--top 8]

Reads only the tables (cases, memberships, links, indicators), not the detection code.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

import psycopg


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--truth", required=True)
    p.add_argument("--top", type=int, default=8)
    a = p.parse_args()
    truth = json.loads(Path(a.truth).read_text())
    op_of, ops = truth["accounts"], truth["operators"]
    kind = lambda acc: ops.get(op_of.get(acc, ""), {}).get("kind", "?")  # noqa: E731
    conn = psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{a.db}")
    cur = conn.cursor()
    cur.execute(
        "select m.case_id, a.account_id, m.source, m.evidence, c.risk_score, (a.flagged_at is not null) "
        "from investigations_casemembership m join accounts_account a on a.id=m.account_id "
        "join investigations_case c on c.id=m.case_id where c.merged_into_id is null"
    )
    members: dict[int, list] = defaultdict(list)
    case_of, score, flagged = {}, {}, {}
    for case_id, acc, source, evidence, risk, fl in cur.fetchall():
        members[case_id].append((acc, source, evidence))
        case_of[acc], score[case_id], flagged[acc] = case_id, risk, fl
    cur.execute("select account_id from accounts_account where flagged_at is not null")
    all_flagged = {r[0] for r in cur.fetchall()}
    cur.execute(
        "select a1.account_id, a2.account_id, l.signal, l.weight, l.count, l.detail from detection_accountlink l "
        "join accounts_account a1 on a1.id=l.account_a_id join accounts_account a2 on a2.id=l.account_b_id"
    )
    links = cur.fetchall()

    print("== cases: majority operator, composition, score")
    major = {}
    for cid, mem in sorted(members.items()):
        c = Counter(op_of.get(acc, "?") for acc, _, _ in mem)
        major[cid] = c.most_common(1)[0][0]
        comp = ", ".join(f"{op}:{n}" for op, n in c.most_common(6))
        print(
            f"case {cid:>4} score {score[cid]:.3f} n={len(mem):>4} [{kind(mem[0][0]) if len(c) == 1 else 'MIXED'}] {comp}"  # noqa: E501
        )

    print("\n== cross-operator links inside one case (by signal, pair of operators)")
    cross: dict[tuple, list] = defaultdict(list)
    for x, y, sig, w, cnt, det in links:
        if x in case_of and case_of.get(x) == case_of.get(y) and op_of.get(x) != op_of.get(y):
            key = tuple(sorted((op_of.get(x, "?"), op_of.get(y, "?")))) + (sig,)
            cross[key].append((w, cnt, det, x, y))
    for (o1, o2, sig), rows in sorted(cross.items(), key=lambda kv: -sum(r[0] for r in kv[1])):
        rows.sort(key=lambda r: -r[0])
        w, cnt, det, x, y = rows[0]
        print(
            f"{o1} <-> {o2} via {sig}: {len(rows)} links, max weight {w:.3f} (count {cnt}) e.g. {x}-{y} {json.dumps(det)[:300]}"  # noqa: E501
        )

    print("\n== indicators worn by two or more operators of one mixed case (kind: values, by operator pair)")
    cur.execute(
        "select a.account_id, i.kind, i.value, i.account_count from detection_accountindicator ai "
        "join detection_indicator i on i.id=ai.indicator_id join accounts_account a on a.id=ai.account_id "
        "where i.account_count between 2 and 200"
    )
    wearers: dict[tuple, list] = defaultdict(list)
    for acc, k, v, n in cur.fetchall():
        if acc in case_of:
            wearers[(case_of[acc], k, v, n)].append(acc)
    shared: dict[tuple, list] = defaultdict(list)
    for (cid, k, v, n), accs in wearers.items():
        by_op = Counter(op_of.get(x, "?") for x in accs)
        if len(by_op) > 1:
            for o1 in by_op:
                for o2 in by_op:
                    if o1 < o2 and (
                        ops.get(o1, {}).get("kind") != "ordinary" or ops.get(o2, {}).get("kind") != "ordinary"
                    ):
                        shared[(cid, o1, o2, k)].append((v, n, by_op[o1], by_op[o2]))
    for (cid, o1, o2, k), vals in sorted(shared.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        vals.sort(key=lambda t: t[1])
        print(
            f"case {cid}: {o1} <-> {o2} share {len(vals)} {k} values, e.g. "
            + "; ".join(f"{v[:40]} (worn by {n} in all, {a}/{b})" for v, n, a, b in vals[:3])
        )

    print("\n== non-attackers in attacker cases, with their evidence")
    for cid, mem in members.items():
        if ops.get(major[cid], {}).get("kind") != "attacker":
            continue
        for acc, source, ev in mem:
            if kind(acc) != "attacker":
                print(
                    f"case {cid} ({major[cid]}): {acc} op={op_of.get(acc)} kind={kind(acc)} flagged={flagged[acc]} "
                    f"source={source} evidence={json.dumps(ev)[:600]}"
                )

    print("\n== score factors of legitimate cases >= 0.4 and attacker cases < 0.7 (factor weight: text)")
    cur.execute("select id, risk_score, risk_reasons from investigations_case where merged_into_id is null")
    for cid, risk, reasons in cur.fetchall():
        k = ops.get(major.get(cid, ""), {}).get("kind")
        if (k == "legitimate" and risk >= 0.4) or (k == "attacker" and risk < 0.7):
            print(f"case {cid} {major[cid]} ({k}) score {risk:.3f}")
            for r in reasons:
                print(f"    {r.get('factor')} {r.get('weight'):+.3f}: {r.get('text')}")

    print("\n== operators split over several cases / flagged accounts left out")
    for op, info in ops.items():
        if info.get("kind") not in ("attacker", "legitimate"):
            continue
        accs = [acc for acc, o in op_of.items() if o == op]
        held = Counter(case_of.get(acc, "none") for acc in accs if acc in all_flagged)
        if len(held) > 1:
            print(f"{op} ({info['kind']}): flagged accounts by case {dict(held)}")
    conn.close()


if __name__ == "__main__":
    main()
