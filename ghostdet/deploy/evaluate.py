"""Evaluate an exported model exactly as ``tools/test.py`` evaluates a checkpoint: the config's test dataloader,
evaluator, runner and log output, with the exported graph in place of the PyTorch model."""
import copy
import os.path as osp
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

from .detector import ExportedDetector


@MODELS.register_module()
class ExportedDetectorModel(BaseModel):
    """An export folder as an mmengine model for the test loop: ``test_step`` takes the test pipeline's batch
    (uint8 images + data samples) and fills each sample's ``pred_instances`` in original-image pixels.

    Args:
        model_dir (str): the export folder. backend (str, optional): its runtime (default: the exported one).
        threads (int, optional): runtime threads.
    """

    def __init__(self, model_dir: str, backend: Optional[str] = None, threads: Optional[int] = None):
        super().__init__()
        self.detector = ExportedDetector(model_dir, backend=backend, threads=threads)

    def test_step(self, data: Dict) -> List[DetDataSample]:
        preprocessor = self.detector.preprocessor
        inputs, metas = zip(*(preprocessor.normalise(image.cpu(), dict(sample.metainfo))
                              for image, sample in zip(data['inputs'], data['data_samples'])))
        results = self.detector.run(np.stack(inputs), metas)
        for sample, result in zip(data['data_samples'], results):
            sample.pred_instances = result.pred_instances
        return data['data_samples']

    val_step = test_step

    def forward(self, *args, **kwargs):  # the runner only calls test_step
        raise NotImplementedError('ExportedDetectorModel runs through test_step')


def evaluate_exported(config: Union[str, Path], model_dir: Union[str, Path], backend: Optional[str] = None,
                      work_dir: Optional[str] = None, out: Optional[str] = None, threads: Optional[int] = None,
                      cfg_options: Optional[dict] = None) -> Dict[str, float]:
    """Run the config's test loop on the exported model; returns (and logs) the evaluator's metrics.

    The config's ``custom_hooks`` are dropped: they act on a PyTorch model (e.g. EMA weight swapping), and the
    export already holds the weights the checkpoint was saved with.
    """
    from mmdet.evaluation import DumpDetResults
    cfg = Config.fromfile(str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join('./work_dirs', Path(config).stem + '_exported')
    cfg.model = dict(type='ExportedDetectorModel', model_dir=str(model_dir), backend=backend, threads=threads)
    cfg.load_from = None
    cfg.custom_hooks = []
    cfg.pop('tta_model', None)
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    if out is not None:
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl file, as tools/test.py')
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=out))
    return runner.test()
