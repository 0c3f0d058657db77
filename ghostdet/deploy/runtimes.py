"""Runtimes that execute an exported graph: ONNX Runtime and OpenVINO, CPU; ncnn (the network only: it has no
``NonMaxSuppression``, so its detections come from :class:`ghostdet.deploy.end2end.HostPostprocess`).

The runtime packages are imported only here and only when a session is made, so ``import ghostdet`` (and
exporting the ONNX file alone) never needs them. OpenVINO's default inference precision on CPUs with bf16 or fp16
support is reduced: every session sets ``INFERENCE_PRECISION_HINT`` from the export's precision.
"""
import importlib
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from .end2end import IMG_SHAPE_NAME, clip_shape_feed

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
        # img_shape is an input with a default (an initializer) in export folders' ONNX files
        self.takes_img_shape = IMG_SHAPE_NAME in {i.name for i in self.session.get_inputs()
                                                  + self.session.get_overridable_initializers()}

    def __call__(self, batch: np.ndarray, img_shape: Optional[np.ndarray] = None) -> List[np.ndarray]:
        """``batch`` (N, 3, H, W) normalised; ``img_shape`` (N, 2): each image's (h, w) in it, where the graph
        clips boxes (default: all of it)."""
        feeds = {self.input_name: batch}
        if self.takes_img_shape:
            feeds[IMG_SHAPE_NAME] = clip_shape_feed(batch, img_shape)
        return self.session.run(None, feeds)


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
        core = ov.Core()
        model = core.read_model(str(model_path))
        if Path(model_path).suffix == '.onnx' and not any(IMG_SHAPE_NAME in p.names for p in model.inputs):
            model = _with_required_img_shape(core, Path(model_path)) or model
        self.compiled = core.compile_model(model, 'CPU', config)
        self.request = self.compiled.create_infer_request()
        self.takes_img_shape = IMG_SHAPE_NAME in {name for port in self.compiled.inputs for name in port.names}

    def __call__(self, batch: np.ndarray, img_shape: Optional[np.ndarray] = None) -> List[np.ndarray]:
        feeds = {0: batch}
        if self.takes_img_shape:
            feeds[IMG_SHAPE_NAME] = clip_shape_feed(batch, img_shape)
        results = self.request.infer(feeds)
        return [np.asarray(results[output]) for output in self.compiled.outputs]


def _with_required_img_shape(core, onnx_path: Path):
    """OpenVINO freezes an ONNX input that has a default (export folders give ``img_shape`` one for mmdeploy-style
    callers) into a constant: read the graph again without the default, so the input stays feedable. None if the
    graph has no such input."""
    import tempfile

    import onnx
    graph = onnx.load(str(onnx_path))
    defaults = [t for t in graph.graph.initializer if t.name == IMG_SHAPE_NAME]
    if not defaults or not any(i.name == IMG_SHAPE_NAME for i in graph.graph.input):
        return None
    graph.graph.initializer.remove(defaults[0])
    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(graph, f'{tmp}/model.onnx')
        return core.read_model(f'{tmp}/model.onnx')


@register_runtime('ncnn')
class NcnnSession:
    """An ncnn CPU net of the head's raw maps, fp32 (ncnn's fp16 / bf16 storage and arithmetic, its defaults on CPUs
    that have them, are turned off: the export's precision is chosen, not inherited).

    Args: as :class:`OnnxRuntimeSession` (``model_path`` is the ``.ncnn.param`` file, its ``.ncnn.bin`` beside it).
    Returns the maps (each (N, C, H, W)) in the exported graph's output order; ncnn runs one image at a time.
    """

    def __init__(self, model_path: Path, precision: str = 'fp32', threads: Optional[int] = None,
                 device: str = 'cpu', spinning: bool = True):
        _check_device(device, 'ncnn')
        if precision != 'fp32':
            raise ValueError(f'ncnn exports are fp32 here, got precision={precision!r}')
        ncnn = import_runtime('ncnn')
        self.net = ncnn.Net()
        opt = self.net.opt
        opt.use_vulkan_compute = False
        for reduced in ('use_fp16_packed', 'use_fp16_storage', 'use_fp16_arithmetic', 'use_bf16_packed',
                        'use_bf16_storage'):
            setattr(opt, reduced, False)
        if threads:
            opt.num_threads = threads
        param = Path(model_path)
        weights = param.with_suffix('.bin')
        if self.net.load_param(str(param)) or self.net.load_model(str(weights)):
            raise RuntimeError(f'ncnn could not load {param} / {weights}')
        self.mat = ncnn.Mat
        self.input_name = self.net.input_names()[0]
        self.output_names = sorted(self.net.output_names(), key=lambda name: int(name[3:]))  # out0, out1, ...

    def __call__(self, batch: np.ndarray, img_shape: Optional[np.ndarray] = None) -> List[np.ndarray]:
        per_image = []
        for image in batch:
            extractor = self.net.create_extractor()
            extractor.input(self.input_name, self.mat(np.ascontiguousarray(image)))
            per_image.append([np.array(extractor.extract(name)[1]) for name in self.output_names])
        return [np.stack(maps) for maps in zip(*per_image)]
