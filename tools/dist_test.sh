#!/usr/bin/env bash
# mmdet's tools/dist_test.sh (same arguments and environment variables), through torchrun; GPUs (NCCL) or CPU
# processes (gloo, chosen automatically).
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py options ...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT. PYTHON selects the interpreter.
exec bash "$(dirname "$0")/dist_run.sh" test.py "$3" "$1" "$2" "${@:4}"
