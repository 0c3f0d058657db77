"""``ExportedDetector``: an export folder (``deploy.json`` + graph) behind ghostdet's backend-neutral Detector."""
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmdet.structures import DetDataSample

from ghostdet.inference.detector import INFERENCE_BACKENDS, Detector
from .end2end import HostPostprocess
from .preprocess import Preprocessor, img_shapes, to_data_sample
from .runtimes import RUNTIMES

DEPLOY_FILE = 'deploy.json'


def read_deploy_info(model_dir: Union[str, Path]) -> Dict:
    """The ``deploy.json`` of an export folder, with a clear error if the folder is not one."""
    path = Path(model_dir) / DEPLOY_FILE
    if not path.is_file():
        raise FileNotFoundError(f'{model_dir} is not an export folder (no {DEPLOY_FILE}); make one with '
                                f'tools/deployment/export.py CONFIG CHECKPOINT --out-dir {model_dir}')
    return json.loads(path.read_text())


def runtime_model_file(info: Dict, runtime: str) -> str:
    """The file ``runtime`` loads from an export folder: OpenVINO's IR when there is one, else the ONNX graph of
    the export's precision (OpenVINO reads ONNX too)."""
    files = info['files']
    if runtime == 'openvino' and 'openvino' in files:
        return files['openvino']
    if runtime == 'ncnn':
        if 'ncnn' not in files:
            raise ValueError('this export has no ncnn model; export with --backend ncnn')
        return files['ncnn']
    if info['precision'] == 'bf16' and runtime != 'openvino':
        raise ValueError(f'this export is bf16, which only the openvino runtime runs (ONNX Runtime has no bf16 CPU '
                         f'kernels); use backend="openvino" or export with --precision fp32|int8')
    return files['onnx_int8'] if info['precision'] == 'int8' else files['onnx']


@INFERENCE_BACKENDS.register_module(name=['onnxruntime', 'openvino', 'ncnn'])
class ExportedDetector(Detector):
    """An exported detector run by ONNX Runtime, OpenVINO or ncnn; images of any size in, boxes in their own pixels.

    Args:
        model_dir: an export folder written by :func:`ghostdet.deploy.export_detector`.
        backend (str, optional): ``'onnxruntime'``, ``'openvino'`` or ``'ncnn'`` (folders exported for it);
            default: the one it was exported for.
        device (str): ``'cpu'``.
        threads (int, optional): runtime threads (default: the runtime's own, one per core).
    """

    def __init__(self, model_dir: Union[str, Path], backend: Optional[str] = None, device: str = 'cpu',
                 threads: Optional[int] = None):
        self.model_dir = Path(model_dir)
        self.info = read_deploy_info(model_dir)
        self.backend = backend or self.info['backend']
        if self.backend not in RUNTIMES:
            raise KeyError(f'unknown runtime {self.backend!r}; choose from {sorted(RUNTIMES)}')
        self.class_names = tuple(self.info['class_names'])
        self.preprocessor = Preprocessor(self.info)
        self.session = RUNTIMES[self.backend](self.model_dir / runtime_model_file(self.info, self.backend),
                                              precision=self.info['precision'], threads=threads, device=device)
        if self.backend == 'ncnn':  # the network alone: decoding and NMS on the host
            self.session = HostPostprocess(self.session, self.info)
        self.batch_size = None if self.info['dynamic_batch'] else 1

    def run(self, inputs: np.ndarray, metas: Sequence[Dict]) -> List[DetDataSample]:
        """Normalised inputs (N, 3, H, W) and their metainfo (from :class:`Preprocessor`) -> results."""
        step = self.batch_size or len(inputs)
        results = []
        for start in range(0, len(inputs), max(step, 1)):
            chunk = metas[start:start + step]
            dets, labels = self.session(np.ascontiguousarray(inputs[start:start + step]), img_shapes(chunk))
            results += [to_data_sample(d, l, m) for d, l, m in zip(dets, labels, chunk)]
        return results

    def predict(self, images: Sequence[Union[np.ndarray, str]]) -> List[DetDataSample]:
        if not len(images):
            return []
        return self.run(*self.preprocessor(images))
