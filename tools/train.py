"""Train a detector with mmdet's own `tools/train.py` (same arguments), ghostdet registered first.

    python tools/train.py CONFIG [--work-dir DIR] [--cfg-options k=v ...] [--resume [CKPT]]

Importing ghostdet registers its models/metrics/transforms in mmdet's registries and makes mmengine
checkpoints load on torch >= 2.6 with ``weights_only=True`` kept on.
"""
import runpy
from pathlib import Path

import mmdet

import ghostdet  # noqa: F401


def main():
    runpy.run_path(str(Path(mmdet.__file__).parent / '.mim' / 'tools' / 'train.py'), run_name='__main__')


if __name__ == '__main__':
    main()
