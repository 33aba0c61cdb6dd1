#!/usr/bin/env bash
# The engine's GPU check, for a lent GPU machine (see docs/ENGINE.md, "GPU check").
#
#   bash scripts/gpu_check.sh [--quick] [--no-compile] [--e2e-only] [--budget SECONDS] [--device cuda]
#
# Uses the machine's python3 and torch. If diffusers, or Django (for the end-to-end section), cannot
# be imported, installs the wheels in .whl/ (fetched beforehand here with scripts/gpu_wheels.sh) into
# /tmp/site.
# Writes $OUT/gpu_results.json and $OUT/gpu_log.txt ($OUT defaults to ./gpu_out).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu_out}"
mkdir -p "$OUT"
export OUT
PYTHON="${PYTHON:-python3}"
LOG="$OUT/gpu_log.txt"

{
    echo "=== gpu_check.sh $(date -u +%FT%TZ) on $(hostname)"
    nvidia-smi || echo "nvidia-smi not available"
    "$PYTHON" --version
    # The GPU image has torch, transformers, peft and huggingface_hub but no diffusers. diffusers
    # travels (.whl/diffusers-0.42.1-py3-none-any.whl), the hub does not: newer huggingface_hub wheels
    # pull in packages (httpcore2 -> truststore) the machine cannot fetch. Seen on an H200, 2026-11-28.
    if ! "$PYTHON" -c "import diffusers" 2>/dev/null; then
        echo "diffusers missing: installing .whl/diffusers-*.whl into /tmp/site"
        if ls .whl/diffusers-*.whl >/dev/null 2>&1; then
            rm -rf /tmp/site
            "$PYTHON" -m pip install -q --no-index --no-deps --target /tmp/site .whl/diffusers-*.whl
            export PYTHONPATH="/tmp/site:$PWD"
        else
            echo "no diffusers wheel in .whl/: see docs/ENGINE.md for the pip download command"
        fi
    fi
    # The Django side (for the end-to-end section): the other wheels of .whl/ (scripts/gpu_wheels.sh).
    if ! "$PYTHON" -c "import django" 2>/dev/null && ls .whl/django-*.whl >/dev/null 2>&1; then
        echo "django missing: installing the Django-side wheels of .whl/ into /tmp/site"
        "$PYTHON" -m pip install -q --no-index --no-deps --target /tmp/site $(ls .whl/*.whl | grep -v diffusers-)
        export PYTHONPATH="/tmp/site:$PWD"
    fi
    export PYTHONPATH="${PYTHONPATH:-$PWD}"
    "$PYTHON" -c "import torch, diffusers, transformers, peft; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available(), '| diffusers', diffusers.__version__, '| transformers', transformers.__version__, '| peft', peft.__version__)"
} 2>&1 | tee -a "$LOG"

# The subshell above cannot export to this shell: set PYTHONPATH again the same way.
if [ -d /tmp/site/diffusers ] || [ -d /tmp/site/django ]; then
    export PYTHONPATH="/tmp/site:$PWD"
else
    export PYTHONPATH="${PYTHONPATH:-$PWD}"
fi
"$PYTHON" scripts/gpu_check.py --out "$OUT" "$@"
status=$?
echo "gpu_check.py exit status $status" | tee -a "$LOG"
exit $status
