"""Runtimes that execute an exported graph: ONNX Runtime and OpenVINO, CPU.

The runtime packages are imported only here and only when a session is made, so ``import ghostdet`` (and
exporting the ONNX file alone) never needs them. OpenVINO's default inference precision on CPUs with bf16 or fp16
support is reduced: every session sets ``INFERENCE_PRECISION_HINT`` from the export's precision.
"""
import importlib
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

DEPLOY_EXTRA = '`pip install -e .[deploy]` (or `make setup`)'
RUNTIMES: Dict[str, type] = {}
# Precision each runtime runs an export in, and the model file it loads, by the export's --precision.
OPENVINO_PRECISION_HINTS = {'fp32': 'f32', 'bf16': 'bf16', 'int8': 'f32'}  # int8: the rest of the graph in f32


class MissingRuntimeError(ImportError):
    """A runtime package of the ``deploy`` extra is not installed."""


def import_runtime(package: str):
    """Import ``package`` or raise :class:`MissingRuntimeError` naming the extra that installs it."""
    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise MissingRuntimeError(f'{package} is not installed ({error}); it comes with the deploy extra: '
                                  f'{DEPLOY_EXTRA}') from error


def register_runtime(name: str):
    def wrap(cls):
        RUNTIMES[name] = cls
        return cls
    return wrap


def _check_device(device: str, runtime: str) -> None:
    if device != 'cpu':
        raise ValueError(f'the {runtime} runtime runs exported models on the CPU here (device={device!r}); '
                         f'use device="cpu", or the pytorch backend for CUDA')


@register_runtime('onnxruntime')
class OnnxRuntimeSession:
    """An ONNX Runtime CPU session.

    Args:
        model_path: the ``.onnx`` file.
        precision (str): the export's precision; ``int8`` files hold QDQ-quantised convolutions.
        threads (int, optional): intra-op threads (default: ONNX Runtime's, one per core).
        device (str): only ``'cpu'``.
        spinning (bool): idle threads spin for the next run (ONNX Runtime's default: lowest latency alone, but
            they take the cores from anything else running in between, e.g. an interleaved benchmark).
    """

    def __init__(self, model_path: Path, precision: str = 'fp32', threads: Optional[int] = None,
                 device: str = 'cpu', spinning: bool = True):
        _check_device(device, 'onnxruntime')
        ort = import_runtime('onnxruntime')
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        if not spinning:
            options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        self.session = ort.InferenceSession(str(model_path), options, providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> List[np.ndarray]:
        return self.session.run(None, {self.input_name: batch})


@register_runtime('openvino')
class OpenVINOSession:
    """An OpenVINO CPU compiled model with an explicit inference precision (``f32`` for fp32 and int8 exports,
    ``bf16`` for bf16), latency mode.

    Args: as :class:`OnnxRuntimeSession` (``model_path`` is the IR ``.xml`` or an ``.onnx`` file; OpenVINO's
    threads do not spin, ``spinning`` is accepted for a common signature).
    """

    def __init__(self, model_path: Path, precision: str = 'fp32', threads: Optional[int] = None,
                 device: str = 'cpu', spinning: bool = True):
        _check_device(device, 'openvino')
        ov = import_runtime('openvino')
        config = {'INFERENCE_PRECISION_HINT': OPENVINO_PRECISION_HINTS[precision], 'PERFORMANCE_HINT': 'LATENCY'}
        if threads:
            config['INFERENCE_NUM_THREADS'] = threads
        self.compiled = ov.Core().compile_model(str(model_path), 'CPU', config)
        self.request = self.compiled.create_infer_request()

    def __call__(self, batch: np.ndarray) -> List[np.ndarray]:
        results = self.request.infer({0: batch})
        return [np.asarray(results[output]) for output in self.compiled.outputs]
