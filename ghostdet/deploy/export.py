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

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from .detector import DEPLOY_FILE
from .end2end import End2EndDetector
from .heads import head_clips_boxes, supported_heads
from .runtimes import OPENVINO_PRECISION_HINTS, RUNTIMES, import_runtime

OPSET = 17
INPUT_NAME = 'input'
OUTPUT_NAMES = ('dets', 'labels')
PRECISIONS = ('fp32', 'bf16', 'int8')
ONNX_FILE, ONNX_INT8_FILE, OPENVINO_FILE = 'end2end.onnx', 'end2end.int8.onnx', 'end2end.xml'


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


def export_onnx(module: nn.Module, path: Union[str, Path], input_shape: Sequence[int], dynamic_batch: bool = False,
                output_names: Sequence[str] = OUTPUT_NAMES) -> None:
    """Trace ``module`` on a 1x3xHxW input into ``path`` (legacy exporter: it honours the NMS op's ``symbolic``)."""
    # Traced with autograd recording (an input that requires grad, so even frozen layers record): ghostdet's
    # inference-only fast paths (outputs written into preallocated tensors) are taken only without it, and a
    # tracer cannot follow those writes.
    dummy = torch.zeros(1, 3, *input_shape, requires_grad=True)
    axes = {name: {0: 'batch'} for name in (INPUT_NAME, *output_names)} if dynamic_batch else None
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer / deprecation chatter about the legacy exporter
        torch.onnx.export(module, (dummy, ), str(path), input_names=[INPUT_NAME], output_names=list(output_names),
                          opset_version=OPSET, dynamic_axes=axes, do_constant_folding=True, dynamo=False)


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
    versions[backend] = import_runtime(backend).__version__
    return versions


def check_options(backend: str, precision: str) -> None:
    if backend not in RUNTIMES:
        raise ExportError(f'unknown backend {backend!r}; choose from {sorted(RUNTIMES)}')
    if precision not in PRECISIONS:
        raise ExportError(f'unknown precision {precision!r}; choose from {PRECISIONS}')
    if precision == 'bf16' and backend != 'openvino':
        raise ExportError('bf16 runs on OpenVINO only (ONNX Runtime has no bf16 CPU kernels): use --backend openvino '
                          '--precision bf16, or --precision int8 for ONNX Runtime')
    for package in ('onnx', backend) + (('onnxruntime', ) if precision == 'int8' else ()):
        import_runtime(package)


def export_detector(config: Union[str, Path, Config], checkpoint: Optional[Union[str, Path]],
                    out_dir: Union[str, Path], shape: Optional[Sequence[int]] = None, dynamic_batch: bool = False,
                    backend: str = 'onnxruntime', precision: str = 'fp32',
                    calib_images: Optional[Union[str, Path]] = None, calib_num: int = 64, force: bool = False,
                    cfg_options: Optional[dict] = None) -> Path:
    """Export a single-stage mmdet detector to ``out_dir``.

    Writes ``end2end.onnx`` (input ``input``: normalised N x 3 x H x W; outputs ``dets`` (N, K, 5) x1, y1, x2, y2,
    score in input pixels and ``labels`` (N, K), -1 for unused rows), ``end2end.int8.onnx`` for int8 (QDQ,
    calibrated on ``calib_images``, default: the config's training images), ``end2end.xml/.bin`` for the openvino
    backend (weights kept fp32; the precision is chosen at run time) and ``deploy.json``.

    Args:
        config: mmdet config (path or Config). checkpoint: its weights (None: random weights, for tests).
        out_dir: the export folder; an existing one is replaced only with ``force``.
        shape: (H, W) of the static input (default: the config's test resize scale).
        dynamic_batch: a batch axis of any size instead of 1.
        backend: 'onnxruntime' or 'openvino'. precision: 'fp32', 'bf16' (openvino) or 'int8'.
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
        (work / DEPLOY_FILE).write_text(json.dumps(info, indent=2))
        _replace_dir(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out_dir


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
        input_name=INPUT_NAME, output_names=list(OUTPUT_NAMES), input_shape=list(shape), dynamic_batch=dynamic_batch,
        channel_order='rgb' if getattr(preprocessor, '_channel_conversion', False) else 'bgr',
        mean=preprocessor.mean.flatten().tolist() if preprocessor._enable_normalize else [0.0, 0.0, 0.0],
        std=preprocessor.std.flatten().tolist() if preprocessor._enable_normalize else [1.0, 1.0, 1.0],
        pipeline=inference_pipeline_cfg(cfg), class_names=list(class_names_from(cfg, meta)),
        head=type(head).__name__, test_cfg=test_cfg, clip_boxes=head_clips_boxes(head),
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
