"""Export a trained single-stage detector: ``end2end.onnx`` (mmdeploy's convention), the OpenVINO IR where asked,
an int8 graph where asked, and ``deploy.json``; written to a temporary folder and renamed, so a failure or a kill
leaves nothing half-written.
"""
import copy
import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from .detector import DEPLOY_FILE
from .end2end import IMG_SHAPE_NAME, End2EndDetector
from .heads import head_clips_boxes, supported_heads
from .runtimes import OPENVINO_PRECISION_HINTS, RUNTIMES, import_runtime

OPSET = 17
INPUT_NAME = 'input'
OUTPUT_NAMES = ('dets', 'labels')
PRECISIONS = ('fp32', 'bf16', 'int8')
ONNX_FILE, ONNX_INT8_FILE, OPENVINO_FILE = 'end2end.onnx', 'end2end.int8.onnx', 'end2end.xml'
NCNN_FILE = 'end2end.ncnn.param'  # and end2end.ncnn.bin: the network alone (raw head maps)


class ExportError(ValueError):
    """A config, checkpoint or option that cannot be exported, with what to do instead."""


def check_exportable(cfg: Config) -> None:
    """Raise :class:`ExportError` (before any work) if the config's model cannot be exported."""
    model = cfg.model
    kind = str(model.get('type', '')).split('.')[-1]
    if kind == 'DistillationDetector':
        raise ExportError('a distillation config trains a student; export the student: '
                          'tools/model_converters/export_student.py CONFIG CHECKPOINT student.pth student.py, then '
                          'export student.py with student.pth')
    if 'roi_head' in model or 'rpn_head' in model:
        raise ExportError(f'{kind} is a two-stage detector (RPN proposals, then RoI pooling per proposal): its '
                          f'RoI stage needs RoIAlign and a second NMS, which this exporter does not put in the graph. '
                          f'Deploy a single-stage config (RTMDet-lite for devices, or RetinaNet with the same '
                          f'backbone), or run this one with the PyTorch backend (tools/infer.py --config/--checkpoint)')
    head = model.get('bbox_head')
    head_type = str((head or {}).get('type', '')).split('.')[-1]
    if head_type not in supported_heads():
        raise ExportError(f'{kind} with head {head_type or "(none)"} cannot be exported: box decoding and NMS are '
                          f'written for {", ".join(supported_heads())}; use one of those heads or the PyTorch backend')
    test_cfg = model.get('test_cfg') or {}
    nms = test_cfg.get('nms') or {}
    if nms.get('type', 'nms') != 'nms' or 'iou_threshold' not in nms or 'max_per_img' not in test_cfg:
        raise ExportError(f'model.test_cfg must have nms=dict(type="nms", iou_threshold=...) and max_per_img for the '
                          f'graph\'s NMS (ONNX NonMaxSuppression); got {dict(test_cfg)}')


def build_inference_model(cfg: Config, checkpoint: Optional[Union[str, Path]]) -> Tuple[nn.Module, Dict]:
    """The config's detector with ``checkpoint`` loaded strictly (random weights if None), in inference form.

    Returns the model and the checkpoint's ``meta``. A checkpoint that does not fit raises :class:`ExportError`.
    """
    from mmdet.registry import MODELS

    from ghostdet.models.deploy import switch_detector_to_deploy
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model_cfg = copy.deepcopy(cfg.model)
    if 'backbone' in model_cfg:
        model_cfg.backbone.init_cfg = None  # the detector checkpoint holds every weight
    model = MODELS.build(model_cfg)
    meta = {}
    if checkpoint is not None:
        if not Path(checkpoint).is_file():
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        try:
            meta = load_checkpoint(model, str(checkpoint), map_location='cpu', strict=True,
                                   logger='silent').get('meta', {})
        except RuntimeError as error:
            raise ExportError(f'checkpoint {checkpoint} does not fit the config\'s model (export with the config it '
                              f'was trained with): {error}') from error
    return switch_detector_to_deploy(model), meta


def export_onnx(module: End2EndDetector, path: Union[str, Path], input_shape: Sequence[int],
                dynamic_batch: bool = False, output_names: Sequence[str] = OUTPUT_NAMES) -> None:
    """Trace ``module`` on a 1x3xHxW input (and its ``img_shape`` where it takes one: a required graph input) into
    ``path`` (legacy exporter: it honours the NMS op's ``symbolic``)."""
    # Traced with autograd recording (an input that requires grad, so even frozen layers record): ghostdet's
    # inference-only fast paths (outputs written into preallocated tensors) are taken only without it, and a
    # tracer cannot follow those writes.
    inputs = (torch.zeros(1, 3, *input_shape, requires_grad=True), )
    input_names = [INPUT_NAME]
    if module.takes_img_shape:
        inputs += (torch.tensor([list(input_shape)], dtype=torch.float32), )
        input_names.append(IMG_SHAPE_NAME)
    axes = {name: {0: 'batch'} for name in (*input_names, *output_names)} if dynamic_batch else None
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer / deprecation chatter about the legacy exporter
        torch.onnx.export(module, inputs, str(path), input_names=input_names, output_names=list(output_names),
                          opset_version=OPSET, dynamic_axes=axes, do_constant_folding=True, dynamo=False)


def default_img_shape(path: Union[str, Path], input_shape: Sequence[int]) -> None:
    """Give the ``img_shape`` input of the ONNX graph at ``path`` (if it has one) the whole input as its default (an
    initializer of the same name), so runtime code that feeds ``input`` alone, as for mmdeploy's graphs, still runs
    (clipping to the input, as mmdeploy does); ONNX Runtime accepts a fed value in its place. OpenVINO freezes such
    defaults, so its IR is converted before and keeps the input required."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(str(path))
    if not any(i.name == IMG_SHAPE_NAME for i in model.graph.input):
        return
    default = numpy_helper.from_array(np.asarray([input_shape], dtype=np.float32), IMG_SHAPE_NAME)
    model.graph.initializer.append(default)
    onnx.save(model, str(path))


def config_input_shape_or_error(cfg: Config, shape: Optional[Sequence[int]]) -> Tuple[int, int]:
    from ghostdet.analysis import config_input_shape
    if shape is None:
        try:
            shape = config_input_shape(cfg)
        except ValueError as error:
            raise ExportError(f'{error} (--shape H W)') from error
    shape = tuple(int(s) for s in shape)
    divisor = cfg.model.get('data_preprocessor', {}).get('pad_size_divisor', 1) or 1
    if len(shape) != 2 or min(shape) <= 0 or shape[0] % divisor or shape[1] % divisor:
        raise ExportError(f'input shape {shape} must be two positive multiples of the data preprocessor\'s '
                          f'pad_size_divisor ({divisor}), as the images the model was tested on')
    return shape


def inference_pipeline_cfg(cfg: Config) -> list:
    """The config's test pipeline for arrays (:func:`ghostdet.inference.detector.array_pipeline_cfg`) as
    ``deploy.json`` stores it."""
    from mmdet.utils import get_test_pipeline_cfg

    from ghostdet.inference.detector import array_pipeline_cfg
    return json.loads(json.dumps(array_pipeline_cfg(get_test_pipeline_cfg(cfg))))  # tuples -> lists


def _versions(backend: str) -> Dict[str, str]:
    import mmcv
    import mmdet
    import onnx

    import ghostdet
    versions = dict(ghostdet=ghostdet.__version__, torch=torch.__version__, mmdet=mmdet.__version__,
                    mmcv=mmcv.__version__, onnx=onnx.__version__)
    for package in (backend, 'pnnx') if backend == 'ncnn' else (backend, ):
        versions[package] = import_runtime(package).__version__
    return versions


def check_options(backend: str, precision: str) -> None:
    if backend not in RUNTIMES:
        raise ExportError(f'unknown backend {backend!r}; choose from {sorted(RUNTIMES)}')
    if precision not in PRECISIONS:
        raise ExportError(f'unknown precision {precision!r}; choose from {PRECISIONS}')
    if backend == 'ncnn' and precision != 'fp32':
        raise ExportError(f'ncnn exports are fp32 here (--precision {precision}): ncnn quantises with its own '
                          f'calibration tool (ncnn2table / ncnn2int8), which this exporter does not run; use '
                          f'--backend openvino for bf16 or int8')
    if precision == 'bf16' and backend != 'openvino':
        raise ExportError('bf16 runs on OpenVINO only (ONNX Runtime has no bf16 CPU kernels): use --backend openvino '
                          '--precision bf16, or --precision int8 for ONNX Runtime')
    for package in ('onnx', backend) + (('onnxruntime', ) if precision == 'int8' else ()) + \
            (('pnnx', ) if backend == 'ncnn' else ()):
        import_runtime(package)


def export_detector(config: Union[str, Path, Config], checkpoint: Optional[Union[str, Path]],
                    out_dir: Union[str, Path], shape: Optional[Sequence[int]] = None, dynamic_batch: bool = False,
                    backend: str = 'onnxruntime', precision: str = 'fp32',
                    calib_images: Optional[Union[str, Path]] = None, calib_num: int = 64, force: bool = False,
                    cfg_options: Optional[dict] = None) -> Path:
    """Export a single-stage mmdet detector to ``out_dir``.

    Writes ``end2end.onnx`` (input ``input``: normalised N x 3 x H x W, and, for heads that clip boxes, ``img_shape``:
    N x 2 float, each image's (h, w) inside the padded input, where boxes are clipped before NMS as mmdet does;
    default: the whole input; outputs ``dets`` (N, K, 5) x1, y1, x2, y2, score in input pixels and ``labels``
    (N, K), -1 for unused rows), ``end2end.int8.onnx`` for int8 (QDQ,
    calibrated on ``calib_images``, default: the config's training images), ``end2end.xml/.bin`` for the openvino
    backend (weights kept fp32; the precision is chosen at run time), ``end2end.ncnn.param/.bin`` for the ncnn
    backend (the network; decoding and NMS on the host) and ``deploy.json``.

    Args:
        config: mmdet config (path or Config). checkpoint: its weights (None: random weights, for tests).
        out_dir: the export folder; an existing one is replaced only with ``force``.
        shape: (H, W) of the static input (default: the config's test resize scale).
        dynamic_batch: a batch axis of any size instead of 1.
        backend: 'onnxruntime', 'openvino' or 'ncnn'. precision: 'fp32', 'bf16' (openvino) or 'int8' (not ncnn).
        calib_images: images for int8 calibration: a folder or a COCO annotation file.
        calib_num: at most this many calibration images.
        cfg_options: config overrides (e.g. ``{'model.test_cfg.score_thr': 0.05}``).
    """
    cfg = copy.deepcopy(config) if isinstance(config, Config) else Config.fromfile(str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    out_dir = Path(out_dir)
    check_options(backend, precision)
    check_exportable(cfg)
    if out_dir.exists() and not force:
        raise FileExistsError(f'{out_dir} exists; choose another --out-dir or pass --force to replace it')
    shape = config_input_shape_or_error(cfg, shape)
    model, meta = build_inference_model(cfg, checkpoint)
    info = deploy_info(cfg, model, meta, shape, dynamic_batch, backend, precision, config, checkpoint)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f'.{out_dir.name}.', dir=out_dir.parent))
    try:
        export_onnx(End2EndDetector(model, shape), work / ONNX_FILE, shape, dynamic_batch)
        onnx_file = ONNX_FILE
        if precision == 'int8':
            from .quantize import quantize_int8
            info['calibration'] = quantize_int8(work / ONNX_FILE, work / ONNX_INT8_FILE, info, cfg, calib_images,
                                                calib_num)
            onnx_file = ONNX_INT8_FILE
        if backend == 'openvino':
            ov = import_runtime('openvino')
            # read_model's ONNX frontend: the same graph as ovc's convert_model without its slow preprocessing pass
            ov.save_model(ov.Core().read_model(str(work / onnx_file)), str(work / OPENVINO_FILE),
                          compress_to_fp16=False)
            info['files']['openvino'] = OPENVINO_FILE
        if backend == 'ncnn':
            convert_to_ncnn(End2EndDetector(model, shape, outputs='maps'), work, shape)
            info['files']['ncnn'] = NCNN_FILE
        for name in info['files'].values():
            if name.endswith('.onnx'):
                default_img_shape(work / name, shape)
        (work / DEPLOY_FILE).write_text(json.dumps(info, indent=2))
        _replace_dir(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out_dir


def convert_to_ncnn(maps_module: End2EndDetector, work: Path, shape: Sequence[int]) -> None:
    """``work/end2end.ncnn.param/.bin``: the network (raw head maps) through pnnx from its ONNX graph. ncnn has no
    ``NonMaxSuppression``; decoding and NMS run on the host (:class:`~ghostdet.deploy.end2end.HostPostprocess`).
    Weights stay fp32 (``fp16=0``; pnnx stores fp16 weights by default)."""
    import subprocess

    pnnx = import_runtime('pnnx')
    scratch = work / 'pnnx'
    scratch.mkdir()
    export_onnx(maps_module, scratch / 'maps.onnx', shape, output_names=())
    outputs = dict(pnnxparam='maps.pnnx.param', pnnxbin='maps.pnnx.bin', pnnxpy='maps_pnnx.py',
                   pnnxonnx='maps.pnnx.onnx', ncnnpy='maps_ncnn.py', ncnnparam=str(work / NCNN_FILE),
                   ncnnbin=str(work / Path(NCNN_FILE).with_suffix('.bin')))
    command = [pnnx.EXEC_PATH, 'maps.onnx', 'fp16=0', f'inputshape=[1,3,{shape[0]},{shape[1]}]f32',
               *(f'{key}={value}' for key, value in outputs.items())]
    done = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
    shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode or not (work / NCNN_FILE).is_file():
        raise ExportError(f'pnnx could not convert the network to ncnn (exit {done.returncode}):\n'
                          f'{done.stdout[-2000:]}{done.stderr[-2000:]}')


def deploy_info(cfg: Config, model: nn.Module, meta: Dict, shape: Tuple[int, int], dynamic_batch: bool, backend: str,
                precision: str, config, checkpoint) -> Dict:
    """The ``deploy.json`` contents: everything a runtime needs besides the graph, and where it came from."""
    from ghostdet.inference.detector import class_names_from
    preprocessor = model.data_preprocessor
    head = model.bbox_head
    test_cfg = json.loads(json.dumps(dict(head.test_cfg)))
    return dict(
        format='ghostdet-deploy/1', backend=backend, precision=precision,
        openvino_inference_precision=OPENVINO_PRECISION_HINTS[precision],
        files=dict(onnx=ONNX_FILE, **({'onnx_int8': ONNX_INT8_FILE} if precision == 'int8' else {})),
        input_name=INPUT_NAME, input_names=[INPUT_NAME] + ([IMG_SHAPE_NAME] if head_clips_boxes(head) else []),
        output_names=list(OUTPUT_NAMES), input_shape=list(shape), dynamic_batch=dynamic_batch,
        channel_order='rgb' if getattr(preprocessor, '_channel_conversion', False) else 'bgr',
        mean=preprocessor.mean.flatten().tolist() if preprocessor._enable_normalize else [0.0, 0.0, 0.0],
        std=preprocessor.std.flatten().tolist() if preprocessor._enable_normalize else [1.0, 1.0, 1.0],
        pipeline=inference_pipeline_cfg(cfg), class_names=list(class_names_from(cfg, meta)),
        head=type(head).__name__, test_cfg=test_cfg, clip_boxes=head_clips_boxes(head),
        head_cfg=json.loads(json.dumps({k: v for k, v in cfg.model.bbox_head.to_dict().items()
                                        if k not in ('train_cfg', 'test_cfg')})),
        source=dict(config=str(config) if not isinstance(config, Config) else cfg.filename,
                    checkpoint=str(checkpoint) if checkpoint else None),
        versions=_versions(backend))


def _replace_dir(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target``; an existing ``target`` (``--force``) is moved aside first and removed last."""
    old = None
    if target.exists():
        old = target.with_name(f'.{target.name}.old')
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
