#!/usr/bin/env bash
# The srun call shared by slurm_train.sh and slurm_test.sh: one task per GPU (or CPU process) running SCRIPT.
#   bash tools/slurm_run.sh PARTITION JOB_NAME SCRIPT [SCRIPT arguments ...]
# GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, GRES (default gpu:$GPUS_PER_NODE; GRES=none on CPU-only nodes).

set -x

PARTITION=$1
JOB_NAME=$2
SCRIPT=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
GRES=${GRES:-gpu:${GPUS_PER_NODE}}
SRUN_ARGS=${SRUN_ARGS:-""}

PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    --gres=${GRES} \
    --ntasks=${GPUS} \
    --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    ${PYTHON:-python} -u $(dirname "$0")/$SCRIPT "${@:4}" --launcher="slurm"
