#!/usr/bin/env bash
# mmdet's tools/dist_train.sh (same arguments and environment variables), through torchrun. Works on GPUs (NCCL)
# and on machines without one (GPUS processes on the CPU, gloo; ghostdet picks the backend, no config edit).
#   bash tools/dist_train.sh CONFIG GPUS [tools/train.py options ...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (the same on every node). PYTHON selects the interpreter.
exec bash "$(dirname "$0")/dist_run.sh" train.py "$2" "$1" "${@:3}"
