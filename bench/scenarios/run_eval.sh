#!/usr/bin/env bash
# Ingest one batch into an emptied database, detect, evaluate against its truth; prints one summary line.
# usage: DATABASE_URL=... bench/scenarios/run_eval.sh BATCH.ndjson TRUTH.json [LABEL]
# Eager mode (no CELERY_BROKER_URL): the ingest runs in-process, detection after the batch too.
set -euo pipefail
cd "$(dirname "$0")/../.."
batch=$1 truth=$2 label=${3:-$(basename "$batch")}
export SECRET_KEY=${SECRET_KEY:-x}
unset CELERY_BROKER_URL
py=.venv/bin/python
$py manage.py migrate -v0
$py manage.py flush --no-input -v0
$py manage.py ingest "$batch" --wait --no-copy >/dev/null
$py manage.py detect --full >/dev/null
$py manage.py evaluate --truth "$truth" --json > "${truth%.json}.eval.json"
$py - "${truth%.json}.eval.json" "$label" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
kinds, scores = r["operator_kinds"], r["operator_scores"]
att = sorted(s for o, s in scores.items() if kinds[o] == "attacker")
leg = sorted(s for o, s in scores.items() if kinds[o] == "legitimate")
print(f"{sys.argv[2]:<28} F1 {r['bcubed_f1']:.4f} P {r['bcubed_precision']:.4f} R {r['bcubed_recall']:.4f} "
      f"legit_in_att {r['legitimate_in_attacker_cases']} nonatt_in_att {r['non_attacker_in_attacker_cases']} "
      f"unflagged_found {r['unflagged_attacker_found_share']} wrong_added {r['unflagged_added_to_wrong_operator']} "
      f"AUC {r['auc']} att_min {att[0] if att else None} leg_max {leg[-1] if leg else None} "
      f"att_high {sum(s >= 0.7 for s in att)}/{len(att)} load {os.getloadavg()[0]:.2f}")
PY
