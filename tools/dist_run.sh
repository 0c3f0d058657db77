#!/usr/bin/env bash
# The torchrun call shared by dist_train.sh and dist_test.sh: SCRIPT (in tools/) on NPROC processes per node.
#   bash tools/dist_run.sh SCRIPT NPROC [SCRIPT arguments ...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (the same on every node). PYTHON selects the interpreter.

SCRIPT=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
${PYTHON:-python} -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$NPROC \
    --master_port=$PORT \
    $(dirname "$0")/$SCRIPT \
    "${@:3}" \
    --launcher pytorch
