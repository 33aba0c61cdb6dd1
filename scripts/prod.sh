#!/usr/bin/env bash
# `make prod`: the production profile (DJANGO_ENV=production) from the environment (or .env). First
# the checks: the settings refuse DEBUG, a weak SECRET_KEY or an empty/"*" ALLOWED_HOSTS, and
# `check --deploy` must be clean; if they fail, nothing is migrated or started. Then migrate,
# collectstatic, and gunicorn (gunicorn.conf.py), the GPU worker and the "web" cluster's worker
# (emails, sweepers) together. SIGTERM or Ctrl-C stops them all; so does any one of them stopping.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
export DJANGO_ENV=production

if ! report=$($PY manage.py check --deploy --fail-level WARNING 2>&1); then
  if grep -q "ImproperlyConfigured: " <<<"$report"; then
    # A settings refusal stops the import: its message, without the traceback above it.
    report=$(sed -n '/ImproperlyConfigured: /,$p' <<<"$report" | sed '1s/^.*ImproperlyConfigured: //')
  fi
  echo "$report" >&2
  echo "make prod: refusing to start (nothing was started): fix the settings above (README.md, Deploying)." >&2
  exit 1
fi

$PY manage.py migrate --no-input
$PY manage.py collectstatic --no-input -v0

# Each server in its own process group, so that a signal to this script's group (Ctrl-C, `timeout`)
# reaches this script alone, and it signals each server once: a django-q2 cluster whose processes
# are signalled twice at once can hang on its way out. Whatever still runs STOP_SECONDS after the
# stop began (a process manager that signals every process, say) is killed with its children.
set -m
STOP_SECONDS=45
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  (sleep "$STOP_SECONDS"; for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done) &
  local watchdog=$!
  wait "${pids[@]}" 2>/dev/null || true
  kill -- "-$watchdog" 2>/dev/null || true
  echo "Stopped the web server, the GPU worker and the web cluster's worker."
}
trap 'cleanup; exit 0' INT TERM  # a requested stop is a clean stop
trap cleanup EXIT  # one server stopped on its own: stop the others, keep its exit status

$PY manage.py run_gpu_worker &
pids+=($!)
# The default ("web") cluster: customer emails and the email sweeper (a schedule `migrate` made).
$PY manage.py qcluster &
pids+=($!)
$PY -m gunicorn -c gunicorn.conf.py &
pids+=($!)
wait -n "${pids[@]}"
