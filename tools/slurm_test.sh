#!/usr/bin/env bash
# mmdet's tools/slurm_test.sh (same arguments and environment variables): one task per GPU through srun.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] [GRES=gpu:$GPUS_PER_NODE] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py options ...]
# CPU-only nodes: GRES=none, GPUS / GPUS_PER_NODE = processes in all / per node (gloo is chosen automatically).
exec bash "$(dirname "$0")/slurm_run.sh" "$1" "$2" test.py "$3" "$4" "${@:5}"
