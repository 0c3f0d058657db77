#!/usr/bin/env bash
# Idempotent set-up: creates .venv/ at the repo root and installs the pinned OpenMMLab stack on torch 2.14.
#
# mmcv 2.1.0 has no wheel for torch 2.14, so it is built from the PyPI sdist with compiled ops
# (MMCV_WITH_OPS=1), its `-std=c++17` host flag raised to c++20 (torch >= 2.13 headers need it), without
# build isolation (its setup.py imports torch) and with setuptools<81 (it imports pkg_resources).
# The built wheel is cached in $GHOSTDET_WHEEL_CACHE (default ~/.cache/ghostdet/wheels), keyed by torch
# version and CPU/CUDA, so a second set-up takes well under a minute.
#
# CUDA: where `torch.cuda.is_available()` is true (or FORCE_CUDA=1), mmcv builds its CUDA ops as well;
# set TORCH_CUDA_ARCH_LIST (e.g. "8.0;9.0") to the GPUs you target to keep the build short.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PYTHON=${PYTHON:-python3}
CACHE=${GHOSTDET_WHEEL_CACHE:-$HOME/.cache/ghostdet/wheels}
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
DEEPFOREST_VERSION=2.1.0  # ships the NEON tree images used as default data

step() { printf '\n[setup] %s\n' "$*"; }
CURRENT_STEP=""
on_error() {
    echo "[setup] FAILED at step: ${CURRENT_STEP}" >&2
    echo "[setup] see the messages above; re-running this script resumes from the failed step." >&2
}
trap on_error ERR
run_step() { CURRENT_STEP="$1"; step "$1"; }

run_step "virtual environment at $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
"$PY" -c 'import sys; assert sys.version_info[:2] >= (3, 9), sys.version' \
    || { echo "[setup] Python >= 3.9 is required (found $("$PY" -V))" >&2; exit 1; }

have() {  # have PKG VERSION -> true if that exact version is installed in the venv
    "$PY" - "$1" "$2" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version(sys.argv[1]).split('+')[0] == sys.argv[2] else 1)
PYEOF
}

run_step "torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
if have torch "$TORCH_VERSION" && have torchvision "$TORCHVISION_VERSION"; then
    echo "already installed"
else
    "${PIP[@]}" install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

run_step "build tools and pure-Python dependencies (setuptools<81, mmengine, pycocotools)"
"${PIP[@]}" install -q "setuptools<81" wheel ninja "mmengine==0.10.7" pycocotools

run_step "mmcv==$MMCV_VERSION with compiled ops"
if have mmcv "$MMCV_VERSION" && "$PY" -c 'import mmcv.ops' 2>/dev/null; then
    echo "already installed"
else
    FLAVOUR=$("$PY" - <<'PYEOF'
import os, torch
cuda = os.environ.get('FORCE_CUDA') == '1' or torch.cuda.is_available()
arch = os.environ.get('TORCH_CUDA_ARCH_LIST', '').replace(';', '_').replace(' ', '_').replace('.', '')
print(f"torch{torch.__version__.split('+')[0]}-" + (f'cuda{torch.version.cuda}{"-" + arch if arch else ""}' if cuda else 'cpu'))
PYEOF
)
    WHEEL_DIR="$CACHE/mmcv-$MMCV_VERSION-$FLAVOUR"
    mkdir -p "$WHEEL_DIR"
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
        BUILD=$(mktemp -d)
        echo "no cached wheel in $WHEEL_DIR: building from the sdist (about 15-20 minutes on 2 cores)"
        "${PIP[@]}" download -q --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD"
        tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
        SRC="$BUILD/mmcv-$MMCV_VERSION"
        sed -i 's/-std=c++17/-std=c++20/g; s#/std:c++17#/std:c++20#g' "$SRC/setup.py"
        grep -q -- '-std=c++20' "$SRC/setup.py" \
            || { echo "[setup] could not patch the C++ standard in mmcv's setup.py" >&2; exit 1; }
        (
            cd "$SRC"
            export MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)}
            # pip hides the compiler's output; print a heartbeat so long builds show progress.
            ( while sleep 60; do echo "[setup] still building mmcv ($(find build -name '*.o' 2>/dev/null | wc -l) objects compiled)"; done ) &
            HEARTBEAT=$!
            trap 'kill $HEARTBEAT 2>/dev/null' EXIT
            "$PY" setup.py -q bdist_wheel -d "$WHEEL_DIR" > "$BUILD/build.log" 2>&1 \
                || { tail -n 40 "$BUILD/build.log" >&2; echo "[setup] mmcv build failed; full log: $BUILD/build.log" >&2; exit 1; }
        )
        rm -rf "$BUILD"
    else
        echo "using cached wheel from $WHEEL_DIR"
    fi
    "${PIP[@]}" install -q --no-deps "$WHEEL_DIR"/mmcv-*.whl
    "${PIP[@]}" install -q addict packaging Pillow pyyaml yapf opencv-python
fi

run_step "mmdet==3.3.0"
have mmdet 3.3.0 || "${PIP[@]}" install -q "mmdet==3.3.0"

run_step "ghostdet (editable) with the tests and deploy extras"
"${PIP[@]}" install -q --no-build-isolation -e "$ROOT[tests,deploy]"

run_step "embedded default data package (deepforest==$DEEPFOREST_VERSION, files only, no dependencies)"
have deepforest "$DEEPFOREST_VERSION" || "${PIP[@]}" install -q --no-deps "deepforest==$DEEPFOREST_VERSION"

run_step "check"
"$PY" - <<'PYEOF'
import torch, mmcv, mmcv.ops, mmengine, mmdet, ghostdet
print(f'torch {torch.__version__} (CUDA available: {torch.cuda.is_available()}), mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, ghostdet {ghostdet.__version__}')
PYEOF
CURRENT_STEP=""
step "done: activate with 'source .venv/bin/activate'"
