# Every target first runs the idempotent set-up (.venv with the versions pinned in setup.cfg, mmcv built once and
# cached, ghostdet editable), so each works on a fresh machine.
PYTHON   := .venv/bin/python
CONFIG   := configs/trees/rtmdet-pafpn64_shufflenetv1-g3-1.0x_trees.py
WORK_DIR := work_dirs/trees_demo

.PHONY: setup data demo test

setup:
	bash tools/setup_env.sh

data: setup
	$(PYTHON) tools/dataset_converters/deepforest_to_coco.py data/trees --skip-existing

# Main job: train the ShuffleNetV1 g3 tree detector from scratch (the backbone study's pick; CONFIG=... WORK_DIR=...
# for another, e.g. configs/trees/rtmdet-pafpn64_ghostnet-1.0x_trees.py), then reload the checkpoint and evaluate.
demo: data
	$(PYTHON) tools/train.py $(CONFIG) --work-dir $(WORK_DIR)
	$(PYTHON) tools/test.py $(CONFIG) $$(cat $(WORK_DIR)/last_checkpoint) --work-dir $(WORK_DIR)/test --show-dir detections

test: setup
	$(PYTHON) -m pytest tests -q
