"""Train a detector: mmdet's own tools/train.py (same arguments) with ghostdet registered first.

    python tools/train.py CONFIG [--work-dir DIR] [--cfg-options k=v ...] [--resume [CKPT]] [--amp]
"""
from ghostdet.cli import run_mmdet_tool

if __name__ == '__main__':
    run_mmdet_tool('train')
