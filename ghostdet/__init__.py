"""ghostdet: compact backbones (GhostNet V1/V2/V3, ShuffleNet V1/V2) for MMDetection 3.x.

``import ghostdet`` applies the changes to third-party behaviour listed in :mod:`ghostdet.patches` (safe loading of
mmengine checkpoints on torch >= 2.6, the neck ``in_channels`` check, ...) and registers every ghostdet module in
mmdet's registries, so ``custom_imports=dict(imports=['ghostdet'])`` is all an mmdet config needs.
"""
import os

from .version import __version__

# Tools that only read result files (tools/analysis_tools/eval_small_objects.py) set GHOSTDET_NO_REGISTRATION=1:
# then nothing is patched or registered and neither torch nor mmdet is imported.
if os.environ.get('GHOSTDET_NO_REGISTRATION') != '1':
    from .patches import apply_patches
    apply_patches()
    from . import datasets, models  # noqa: F401  (registration)
    from .evaluation import small_object_metric  # noqa: F401  (registers SmallObjectMetric)

__all__ = ['__version__']
