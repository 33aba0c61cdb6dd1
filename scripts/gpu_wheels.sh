#!/usr/bin/env bash
# Fetch, on THIS machine (the GPU machine has no network), the wheels the GPU check carries in .whl/:
# diffusers (the GPU image has torch, transformers, peft and huggingface_hub, but no diffusers) and the
# Django side of the project, for the end-to-end section (queue -> worker -> stored images on the GPU).
# Versions are the ones installed in .venv (so what runs there is what the tests ran here); wheels for
# the GPU image's Python 3.12 on x86_64. Then: run tool with carry [".whl"].
set -euo pipefail
cd "$(dirname "$0")/.."
PY_VERSION="${PY_VERSION:-3.12}"
# Pure-Python or manylinux wheels only; no torch, numpy or Pillow (the GPU image has them).
PACKAGES=(diffusers Django asgiref sqlparse django-environ django-q2 django-picklefield djangorestframework
  drf-spectacular inflection jsonschema jsonschema-specifications referencing rpds-py attrs PyYAML uritemplate
  django-htmx whitenoise coloraide)
pins=()
for name in "${PACKAGES[@]}"; do
    version=$(.venv/bin/python -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")
    pins+=("${name}==${version}")
done
mkdir -p .whl
.venv/bin/python -m pip download -q --disable-pip-version-check -d .whl --no-deps --only-binary=:all: \
    --python-version "$PY_VERSION" --implementation cp --abi "cp${PY_VERSION/./}" --abi abi3 --abi none \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any "${pins[@]}" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
ls -1 .whl
du -sh .whl
