#!/usr/bin/env bash
# `make run`: migrate, build the demo model if needed, seed the catalogue, then start the web
# server, the GPU worker and the default cluster's worker (emails) together. Ctrl-C (or SIGTERM)
# stops them all, each signalled once; so does any one of them stopping.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
export DEBUG="${DEBUG:-1}"
PORT="${PORT:-8000}"

$PY manage.py migrate --no-input -v0
# The demo model of each preset whose weights are not configured: the trained pattern model for sd21
# when it ships (docs/DEMO_MODEL.md), else random weights (pictures are noise).
for preset_var in sd21:PERSONALIZATION_MODEL sd21-base:PERSONALIZATION_MODEL_SD21_BASE sd-turbo:PERSONALIZATION_MODEL_SD_TURBO; do
  preset="${preset_var%%:*}" var="${preset_var#*:}"
  if [[ -z "${!var:-}" ]]; then
    if [[ "$preset" == sd21 && -f personalization/engine/demo/model/model_index.json ]]; then
      echo "$var is unset: preset $preset uses the DEMO MODEL, a small model trained on simple patterns (docs/DEMO_MODEL.md)."
      continue
    fi
    echo "$var is unset: preset $preset uses the DEMO MODEL (random weights, pictures are noise)."
    [[ -f "var/models/tiny-$preset/model_index.json" ]] || $PY manage.py build_tiny_pipeline --preset "$preset"
  fi
done
$PY manage.py seed_demo
$PY manage.py ensure_demo_admin --port "$PORT"

# Each server in its own process group, so that Ctrl-C (SIGINT to the terminal's foreground group)
# reaches this script alone, and it signals each server once: a django-q2 cluster whose processes are
# signalled twice at once (by the terminal and by this script) can hang on its way out. A second
# Ctrl-C while they stop ends this script, not the stop: whatever still runs STOP_SECONDS after the
# stop began is killed with its children by a watchdog in a group of its own.
set -m
STOP_SECONDS=45
pids=()
web=""
cleanup() {
  # A second Ctrl-C (or TERM) ends the script at once: a trapped signal makes `wait` return at once
  # (bash's manual, "Signals"), where a default one depends on when it lands.
  trap - EXIT
  trap 'exit 130' INT TERM
  for pid in "${pids[@]}"; do
    # runserver's autoreloader serves from a child process: its whole group is stopped; the
    # clusters through their leader only.
    if [[ "$pid" == "$web" ]]; then kill -TERM -- "-$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
  done
  (sleep "$STOP_SECONDS"; for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done) &
  local watchdog=$!
  wait "${pids[@]}" 2>/dev/null || true
  kill -- "-$watchdog" 2>/dev/null || true
  echo "Stopped the web server, the GPU worker and the email worker."
}
trap 'cleanup; exit 0' INT TERM  # a requested stop is a clean stop
trap cleanup EXIT  # one server stopped on its own: stop the others, keep its exit status

$PY manage.py run_gpu_worker &
pids+=($!)
# The default ("web") cluster: small jobs such as customer emails (printed here: EMAIL_URL=consolemail://),
# and the email sweeper, a schedule that `migrate` made above (PERSONALIZATION_EMAIL_SWEEP_MINUTES).
$PY manage.py qcluster &
pids+=($!)
$PY manage.py runserver "127.0.0.1:${PORT}" &
web=$!
pids+=($!)
echo "Shop: http://127.0.0.1:${PORT}/   Admin: http://127.0.0.1:${PORT}/admin/   API docs: http://127.0.0.1:${PORT}/api/docs/"
wait -n "${pids[@]}"
