#!/usr/bin/env bash
# `make run`: migrate, build the demo model if needed, seed the catalogue, then start the web
# server, the GPU worker and the default cluster's worker (emails) together. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DEBUG="${DEBUG:-1}"
PORT="${PORT:-8000}"

$PY manage.py migrate --no-input -v0
# The demo model of each preset whose weights are not configured (random weights, pictures are noise).
for preset_var in sd21:PERSONALIZATION_MODEL sd21-base:PERSONALIZATION_MODEL_SD21_BASE sd-turbo:PERSONALIZATION_MODEL_SD_TURBO; do
  preset="${preset_var%%:*}" var="${preset_var#*:}"
  if [[ -z "${!var:-}" ]]; then
    echo "$var is unset: preset $preset uses the DEMO MODEL (random weights, pictures are noise)."
    [[ -f "var/models/tiny-$preset/model_index.json" ]] || $PY manage.py build_tiny_pipeline --preset "$preset"
  fi
done
$PY manage.py seed_demo
$PY manage.py ensure_demo_admin --port "$PORT"

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "Stopped the web server, the GPU worker and the email worker."
}
trap cleanup INT TERM EXIT

$PY manage.py run_gpu_worker &
pids+=($!)
# The default ("web") cluster: small jobs such as customer emails (printed here: EMAIL_URL=consolemail://),
# and the email sweeper, a schedule that `migrate` made above (PERSONALIZATION_EMAIL_SWEEP_MINUTES).
$PY manage.py qcluster &
pids+=($!)
$PY manage.py runserver "127.0.0.1:${PORT}" &
pids+=($!)
echo "Shop: http://127.0.0.1:${PORT}/   Admin: http://127.0.0.1:${PORT}/admin/   API docs: http://127.0.0.1:${PORT}/api/docs/"
wait -n "${pids[@]}"
