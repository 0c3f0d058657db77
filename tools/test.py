"""Test a detector: mmdet's own tools/test.py (same arguments) with ghostdet registered first.

    python tools/test.py CONFIG CHECKPOINT [--out results.pkl] [--show-dir DIR] [--work-dir DIR] [--cfg-options k=v ...]
"""
from ghostdet.cli import run_mmdet_tool

if __name__ == '__main__':
    run_mmdet_tool('test')
