#!/usr/bin/env bash
# Knowledge-distillation experiment on the embedded tree data (README, "Distillation on the tree data"):
#   1. train the teacher (GhostNet 1.3x, RTMDet-PAFPN96, 1000 iterations, seed 0);
#   2. train the main job's student (GhostNet 1.0x RTMDet-PAFPN64, 600 iterations, seed $SEED) distilled from it;
#   3. train the same student without distillation (same config, schedule and seed);
# then evaluate each checkpoint with tools/test.py and print one table. A step whose checkpoint already exists
# is not retrained, so a second seed reuses the teacher. About 70 minutes on a 2-core CPU (35 for another seed).
# Usage: [SEED=N] bash tools/experiments/distill_trees.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/distill_trees}
SEED=${SEED:-0}
TEACHER=configs/trees/rtmdet-pafpn96_ghostnet-1.3x_trees-teacher.py
KD=configs/distill/rtmdet-pafpn_ghostnet-1.3x-to-1.0x_pkd-kd_trees.py
PLAIN=configs/trees/rtmdet-pafpn64_ghostnet-1.0x_trees.py
SUFFIX=$([[ $SEED == 0 ]] || echo "_seed$SEED")

train_and_test() {  # name config checkpoint-name [extra train options...]
  local name=$1 config=$2 ckpt=$3; shift 3
  if [[ ! -f $WORK/$name/$ckpt ]]; then
    $PYTHON tools/train.py "$config" --work-dir "$WORK/$name" "$@"
  fi
  $PYTHON tools/test.py "$config" "$WORK/$name/$ckpt" --work-dir "$WORK/$name/test" "$@" \
    | tee "$WORK/$name/test.log"
}

mkdir -p "$WORK"
train_and_test teacher $TEACHER iter_1000.pth
train_and_test student_kd$SUFFIX $KD iter_600.pth \
  --cfg-options "model.teacher.checkpoint=$WORK/teacher/iter_1000.pth" "randomness.seed=$SEED"
train_and_test student$SUFFIX $PLAIN iter_600.pth --cfg-options "randomness.seed=$SEED"

echo
echo "| model | bbox mAP | AP50 | AP75 | APs | APm |"
echo "| --- | --- | --- | --- | --- | --- |"
for name in teacher student$SUFFIX student_kd$SUFFIX; do
  # mmdet's CocoMetric logs "coco/bbox_mAP: ... coco/bbox_mAP_50: ..." once per evaluation.
  grep -o 'coco/bbox_mAP: .*' "$WORK/$name/test.log" | tail -1 | $PYTHON -c "
import re, sys
values = dict(re.findall(r'coco/bbox_(\w+): (-?[0-9.]+)', sys.stdin.read()))
print('| $name | ' + ' | '.join(values[k] for k in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m')) + ' |')"
done
