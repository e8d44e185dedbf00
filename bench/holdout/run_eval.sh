#!/usr/bin/env bash
# Held-out evaluation of one scenario against a code tree (default: a fresh export of HEAD).
#   bench/holdout/run_eval.sh MIX SEED [DB] [REDIS_DB]
# Env: OUT (results dir), CODE (code tree to run), GEN_ARGS (extra generator flags), TAG (name suffix).
# Generates the scenario, recreates DB, migrates, starts its own Celery worker on REDIS_DB,
# ingests with --wait, waits for the post-batch detection task, runs `detect --full`, then
# writes evaluate/cases JSON under $OUT (default /tmp/hh/results).
set -euo pipefail
MIX=$1 SEED=$2 DB=${3:-hydra_h} RDB=${4:-8}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PY=$REPO/.venv/bin/python
OUT=${OUT:-/tmp/hh/results}
CODE=${CODE:-/tmp/hh/code}
mkdir -p "$OUT"
if [ ! -f "$CODE/manage.py" ]; then
  mkdir -p "$CODE" && git -C "$REPO" archive HEAD | tar -x -C "$CODE"
fi
NAME=$MIX-$SEED${TAG:+-$TAG}
DATA=$OUT/$NAME.ndjson.gz TRUTH=$OUT/$NAME.truth.json
# shellcheck disable=SC2086
[ -f "$DATA" ] || "$PY" "$REPO/bench/holdout/generate.py" --mix "$MIX" --seed "$SEED" ${GEN_ARGS:-} --out "$DATA" --truth "$TRUTH"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB CELERY_BROKER_URL=redis://127.0.0.1:6379/$RDB SECRET_KEY=x
cd "$CODE"
dropdb -h 127.0.0.1 -U postgres --if-exists "$DB"
createdb -h 127.0.0.1 -U postgres "$DB"
"$PY" manage.py migrate -v0
"$REPO/.venv/bin/celery" -A config purge -f -Q celery,ingest,detection,enforcement,sharing >/dev/null 2>&1 || true
LOG=$OUT/$NAME.worker.log
"$REPO/.venv/bin/celery" -A config worker -Q celery,ingest,detection,enforcement,sharing -c 2 --loglevel=INFO >"$LOG" 2>&1 &
WPID=$!
trap 'kill $WPID 2>/dev/null; wait $WPID 2>/dev/null || true' EXIT
sleep 5
T0=$(date +%s)
"$PY" manage.py ingest "$DATA" --wait --json >"$OUT/$NAME.ingest.json"
T1=$(date +%s)
# Wait until every detection task the worker received has finished.
for _ in $(seq 1 600); do
  got=$(grep -c "Task investigations.detection.tasks.*received" "$LOG" || true)
  done_=$(grep -cE "Task investigations.detection.tasks.*(succeeded|failed|raised)" "$LOG" || true)
  [ "$got" -gt 0 ] && [ "$got" = "$done_" ] && break
  sleep 2
done
T2=$(date +%s)
"$PY" manage.py evaluate --truth "$TRUTH" --json >"$OUT/$NAME.eval-post.json"
"$PY" manage.py detect --full >"$OUT/$NAME.detect.txt" 2>&1
T3=$(date +%s)
"$PY" manage.py evaluate --truth "$TRUTH" --json >"$OUT/$NAME.eval.json"
"$PY" manage.py cases --json >"$OUT/$NAME.cases.json"
echo "{\"name\":\"$NAME\",\"mix\":\"$MIX\",\"seed\":$SEED,\"ingest_s\":$((T1-T0)),\"post_detect_s\":$((T2-T1)),\"full_detect_s\":$((T3-T2)),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"code\":\"$(cat "$CODE/.commit" 2>/dev/null || echo '?')\"}" | tee "$OUT/$NAME.run.json"
"$PY" "$REPO/bench/holdout/diagnose.py" --db "$DB" --truth "$TRUTH" >"$OUT/$NAME.diag.txt" 2>&1 || true
