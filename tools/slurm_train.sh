#!/usr/bin/env bash
# mmdet's tools/slurm_train.sh (same arguments and environment variables): one task per GPU through srun.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] [GRES=gpu:$GPUS_PER_NODE] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py options ...]
# CPU-only nodes: GRES=none, GPUS / GPUS_PER_NODE = processes in all / per node (gloo is chosen automatically).
exec bash "$(dirname "$0")/slurm_run.sh" "$1" "$2" train.py "$3" --work-dir="$4" "${@:5}"
