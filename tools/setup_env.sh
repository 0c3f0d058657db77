#!/usr/bin/env bash
# Idempotent set-up: creates .venv/ at the repo root and installs the pinned OpenMMLab stack.
# Every version comes from setup.cfg (install_requires and extras), the one place pins are written.
#
# mmcv has no wheel for the pinned torch, so it is built from the PyPI sdist with compiled ops
# (MMCV_WITH_OPS=1), its `-std=c++17` host flag raised to c++20 (torch >= 2.13 headers need it), without
# build isolation (its setup.py imports torch) and with setuptools < 81 (it imports pkg_resources).
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

# The pins of setup.cfg as PIN_<name> variables (PIN_torch, PIN_faster_coco_eval, ...).
PINS=$("$PYTHON" - "$ROOT/setup.cfg" <<'PYEOF'
import configparser, re, sys
config = configparser.ConfigParser()
config.read(sys.argv[1])
lists = [config['options']['install_requires'], *config['options.extras_require'].values()]
for line in (line.strip() for text in lists for line in text.splitlines()):
    match = re.fullmatch(r'([A-Za-z0-9_.-]+)==([A-Za-z0-9_.]+)', line)
    if match:
        print(f"PIN_{re.sub(r'[^A-Za-z0-9]', '_', match[1])}={match[2]}")
PYEOF
) || { echo "[setup] could not read the pins from $ROOT/setup.cfg" >&2; exit 1; }
eval "$PINS"
for name in torch torchvision mmcv mmengine mmdet pycocotools setuptools wheel ninja deepforest; do
    var="PIN_$name"
    [ -n "${!var:-}" ] || { echo "[setup] setup.cfg pins no version of $name (NAME==VERSION)" >&2; exit 1; }
done

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

run_step "torch==$PIN_torch torchvision==$PIN_torchvision"
if have torch "$PIN_torch" && have torchvision "$PIN_torchvision"; then
    echo "already installed"
else
    "${PIP[@]}" install -q "torch==$PIN_torch" "torchvision==$PIN_torchvision"
fi

run_step "build tools and pure-Python dependencies (setuptools==$PIN_setuptools, mmengine, pycocotools)"
if have setuptools "$PIN_setuptools" && have wheel "$PIN_wheel" && have ninja "$PIN_ninja" \
        && have mmengine "$PIN_mmengine" && have pycocotools "$PIN_pycocotools"; then
    echo "already installed"
else
    "${PIP[@]}" install -q "setuptools==$PIN_setuptools" "wheel==$PIN_wheel" "ninja==$PIN_ninja" \
        "mmengine==$PIN_mmengine" "pycocotools==$PIN_pycocotools"
fi

run_step "mmcv==$PIN_mmcv with compiled ops"
if have mmcv "$PIN_mmcv" && "$PY" -c 'import mmcv.ops' 2>/dev/null; then
    echo "already installed"
else
    FLAVOUR=$("$PY" - <<'PYEOF'
import os, torch
cuda = os.environ.get('FORCE_CUDA') == '1' or torch.cuda.is_available()
arch = os.environ.get('TORCH_CUDA_ARCH_LIST', '').replace(';', '_').replace(' ', '_').replace('.', '')
print(f"torch{torch.__version__.split('+')[0]}-" + (f'cuda{torch.version.cuda}{"-" + arch if arch else ""}' if cuda else 'cpu'))
PYEOF
)
    WHEEL_DIR="$CACHE/mmcv-$PIN_mmcv-$FLAVOUR"
    mkdir -p "$WHEEL_DIR"
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
        BUILD=$(mktemp -d)
        echo "no cached wheel in $WHEEL_DIR: building from the sdist (about 15-20 minutes on 2 cores)"
        "${PIP[@]}" download -q --no-deps --no-binary :all: "mmcv==$PIN_mmcv" -d "$BUILD"
        tar -xzf "$BUILD"/mmcv-$PIN_mmcv.tar.gz -C "$BUILD"
        SRC="$BUILD/mmcv-$PIN_mmcv"
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

run_step "mmdet==$PIN_mmdet"
have mmdet "$PIN_mmdet" || "${PIP[@]}" install -q "mmdet==$PIN_mmdet"

run_step "ghostdet (editable) with the tests and deploy extras"
# pip resolves every requirement again even when nothing changed; skip it while setup.cfg / pyproject.toml are
# those of the last successful install
STAMP="$VENV/.ghostdet-install"
FINGERPRINT=$(cat "$ROOT/setup.cfg" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" = "$FINGERPRINT" ] \
        && "$PY" -c 'from importlib.metadata import version; version("ghostdet")' 2>/dev/null; then
    echo "already installed (setup.cfg unchanged)"
else
    "${PIP[@]}" install -q --no-build-isolation -e "$ROOT[tests,deploy]"
    echo "$FINGERPRINT" > "$STAMP"
fi

# the extra "data" (deepforest) without its dependencies: only the package's data files are used
run_step "embedded default data package (deepforest==$PIN_deepforest, files only, no dependencies)"
have deepforest "$PIN_deepforest" || "${PIP[@]}" install -q --no-deps "deepforest==$PIN_deepforest"

run_step "check"
"$PY" - <<'PYEOF'
import torch, mmcv, mmcv.ops, mmengine, mmdet, ghostdet
print(f'torch {torch.__version__} (CUDA available: {torch.cuda.is_available()}), mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, ghostdet {ghostdet.__version__}')
PYEOF
CURRENT_STEP=""
step "done: activate with 'source .venv/bin/activate'"
