"""Knowledge distillation inside mmdet's train/test flow: a frozen teacher detector teaches a student detector.

``DistillationDetector`` is an ordinary mmdet detector to the runner. In training its ``loss()`` returns the
student's own losses plus one entry per distillation loss; in validation/test it *is* the student. The teacher is
built from its own config, loaded strictly from its checkpoint, and kept out of everything the runner touches:
it is not a submodule (so not in ``parameters()``, the optimizer, ``state_dict()`` or ``init_weights()``), it stays
in eval mode without gradients, and it runs under ``no_grad``. It only follows ``.to()`` / ``.cuda()``.

What each loss compares is its ``source``: ``'backbone'`` or ``'neck'`` feature maps (paired level by level; a
learned 1x1 adapter maps the student's channels to the teacher's where they differ; bias-free, as CWD and PKD
ignore per-channel offsets), or a dense head's raw
``'cls_score'`` / ``'bbox_pred'`` outputs (same priors and classes at the same locations). The student's outputs
are recorded with forward hooks during its normal ``loss()``, so nothing is computed twice.
"""
import copy
import os.path as osp
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmengine.config import Config, ConfigDict
from mmengine.hub import get_config
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor

from ...checkpoint import extract_state_dict, load_state_dict_strict
from ..losses import FEATURE_SOURCES, HEAD_SOURCES, DistillLoss

# The blank image run through both detectors at construction to check that their outputs pair up and to size
# the adapters. 128 px still leaves a 1x1 map at stride 128 (RetinaNet's P7).
PROBE_SIZE = 128
# The submodule whose forward output holds each source.
RECORDED_MODULE = {**{source: source for source in FEATURE_SOURCES}, **{source: 'bbox_head' for source in HEAD_SOURCES}}


def load_teacher_model_config(config: Union[str, Path, dict]) -> ConfigDict:
    """The teacher's ``model`` dict from a config file (``mmdet::`` paths included), a whole config or a model
    dict."""
    if isinstance(config, (str, Path)):
        path = str(config)
        if '::' in path:
            config = get_config(path)  # <package>/.mim/configs/..., as mmengine resolves `_base_ = 'mmdet::...'`
        elif osp.isfile(path):
            config = Config.fromfile(path)
        else:
            raise FileNotFoundError(f'teacher config {path!r} does not exist (give a file, an installed package '
                                    f'config such as "mmdet::retinanet/retinanet_r50_fpn_1x_coco.py", or a dict)')
    if not isinstance(config, (dict, Config)):
        raise TypeError(f'teacher config must be a path or a dict, got {type(config).__name__}')
    model = config.get('model', config)
    if not isinstance(model, dict) or 'type' not in model:
        raise ValueError('teacher config has neither a "model" dict nor a "type": give a detector config')
    return ConfigDict(copy.deepcopy(model))


def build_teacher(config: Union[str, Path, dict], checkpoint: Optional[str]) -> nn.Module:
    """Build the teacher and load every one of its weights from ``checkpoint``; eval mode, no gradients.

    Raises:
        ValueError: no checkpoint given. FileNotFoundError: the file does not exist.
        CheckpointMismatchError: the checkpoint does not fit the teacher config (nothing is loaded).
    """
    if not checkpoint:
        raise ValueError('model.teacher.checkpoint is required: a randomly initialised teacher teaches nothing; '
                         'train the teacher config first and give its checkpoint')
    teacher = MODELS.build(load_teacher_model_config(config))
    try:
        raw = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    except FileNotFoundError as error:
        raise FileNotFoundError(f'teacher checkpoint {checkpoint!r} does not exist; train the teacher first or fix '
                                f'model.teacher.checkpoint') from error
    load_state_dict_strict(teacher, extract_state_dict(raw, prefix=''), source=f'teacher checkpoint {checkpoint!r}',
                           hint='the checkpoint must come from training model.teacher.config (same architecture '
                                'and number of classes)')
    return teacher.requires_grad_(False).eval()


@contextmanager
def record_outputs(detector: nn.Module, names: Set[str]):
    """Collect the first forward output of each named submodule of ``detector`` while the context is open."""
    outputs: Dict[str, object] = {}
    handles = []
    try:
        for name in sorted(names):
            module = getattr(detector, name, None)
            if not isinstance(module, nn.Module):
                raise ValueError(
                    f'{type(detector).__name__} has no {name}: backbone/neck distillation needs those modules, '
                    f"'cls_score'/'bbox_pred' distillation a single-stage detector with a dense bbox_head")
            handles.append(module.register_forward_hook(partial(_keep_first_output, outputs, name)))
        yield outputs
    finally:
        for handle in handles:
            handle.remove()
    missing = names - outputs.keys()
    if missing:
        raise RuntimeError(f'{type(detector).__name__} never called {sorted(missing)} through __call__; '
                           f'their outputs cannot be distilled')


def _keep_first_output(store: dict, name: str, module: nn.Module, args, output) -> None:
    store.setdefault(name, output)


def flatten_head_output(levels: Sequence[Tensor], row_size: int) -> Tensor:
    """``(N, A * K, H, W)`` per level -> ``(sum N*H*W*A, K)`` rows, the order mmdet's heads use."""
    return torch.cat([level.permute(0, 2, 3, 1).reshape(-1, row_size) for level in levels])


@MODELS.register_module()
class DistillationDetector(BaseDetector):
    """Train ``student`` with its own losses plus distillation losses from a frozen ``teacher``.

    Args:
        student (dict): The student detector's config (``model`` of an mmdet config); its data preprocessor is
            the wrapper's.
        teacher (dict): ``config``: the teacher's config file (``mmdet::...`` allowed), whole config or model
            dict; ``checkpoint``: its trained weights (required; must fit exactly).
        distill_losses (dict): ``{name: loss config}``; names must contain ``'loss'`` (mmengine sums those) and are
            the keys logged next to the student's losses. Each loss is a :class:`~ghostdet.models.losses.DistillLoss`
            whose ``source`` says what it compares.
        init_cfg (dict, optional): Initialisation config of the wrapper.

    Example::

        model = dict(
            type='DistillationDetector',
            student=student_model,
            teacher=dict(config='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', checkpoint='teacher.pth'),
            distill_losses=dict(
                loss_pkd=dict(type='PKDLoss', loss_weight=6.0, warmup_iters=500),
                loss_kd_cls=dict(type='LogitKDLoss', T=1.0, loss_weight=1.0)))
    """

    def __init__(self, student: dict, teacher: dict, distill_losses: dict, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.student = MODELS.build(ConfigDict(student))  # mmdet heads read their cfgs as attributes
        self.data_preprocessor = self.student.data_preprocessor  # one preprocessor: the student's

        unknown = set(teacher) - {'config', 'checkpoint'}
        if 'config' not in teacher or unknown:
            raise ValueError(f'teacher must be dict(config=..., checkpoint=...), got keys {sorted(teacher)}')
        # Not a submodule (plain attribute): kept out of parameters(), state_dict() and init_weights().
        object.__setattr__(self, 'teacher', build_teacher(teacher['config'], teacher.get('checkpoint')))

        if not distill_losses:
            raise ValueError('distill_losses is empty: give at least one distillation loss '
                             '(or train the student config directly)')
        self.distill_losses = nn.ModuleDict()
        for name, cfg in distill_losses.items():
            if 'loss' not in name:
                raise ValueError(f'distillation loss name {name!r} must contain "loss" so that mmengine adds it to '
                                 f'the total loss (e.g. "loss_{name}")')
            loss = MODELS.build(cfg)
            if not isinstance(loss, DistillLoss):
                raise TypeError(f'{name}: {type(loss).__name__} is not a ghostdet distillation loss (CWDLoss, '
                                f'PKDLoss, LogitKDLoss, LDLoss)')
            if loss.source not in RECORDED_MODULE:
                raise ValueError(f'{name}: unknown source {loss.source!r}; one of {sorted(RECORDED_MODULE)}')
            self.distill_losses[name] = loss
        self.recorded_modules = {RECORDED_MODULE[loss.source] for loss in self.distill_losses.values()}
        self.adapters = nn.ModuleDict()
        self._pair_outputs()

    # --- teacher handling -------------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> 'DistillationDetector':
        super().train(mode)
        self.teacher.train(False)
        return self

    def _apply(self, fn, recurse: bool = True):
        """``.to()``, ``.cuda()``, ``.half()`` ... move the teacher too."""
        if 'teacher' in self.__dict__:
            self.teacher._apply(fn, recurse)
        return super()._apply(fn, recurse)

    def __deepcopy__(self, memo: dict) -> 'DistillationDetector':
        """Copies (e.g. the EMA model of mmengine's EMAHook) share the frozen teacher instead of duplicating it."""
        memo[id(self.teacher)] = self.teacher
        return copy._reconstruct(self, memo, *self.__reduce_ex__(4))

    def teacher_inputs(self, inputs: Tensor) -> Tensor:
        """The student's preprocessed batch re-normalised the way the teacher's config would have (mean, std,
        BGR/RGB order may differ, e.g. an RTMDet teacher for a RetinaNet-style student)."""
        student, teacher = self.data_preprocessor, self.teacher.data_preprocessor
        s_norm, t_norm = getattr(student, '_enable_normalize', False), getattr(teacher, '_enable_normalize', False)
        s_flip, t_flip = getattr(student, '_channel_conversion', False), getattr(teacher, '_channel_conversion', False)
        if s_flip == t_flip and s_norm == t_norm and (not s_norm or (
                torch.equal(student.mean, teacher.mean) and torch.equal(student.std, teacher.std))):
            return inputs
        pixels = inputs * student.std + student.mean if s_norm else inputs
        if s_flip != t_flip:
            pixels = pixels.flip(1)
        return (pixels - teacher.mean) / teacher.std if t_norm else pixels

    @torch.no_grad()
    def teacher_outputs(self, inputs: Tensor) -> dict:
        return self._run_recorded(self.teacher, self.teacher_inputs(inputs))

    def _run_recorded(self, detector: nn.Module, inputs: Tensor) -> dict:
        with record_outputs(detector, self.recorded_modules) as outputs:
            features = detector.extract_feat(inputs)
            if 'bbox_head' in self.recorded_modules:
                detector.bbox_head(features)
        return outputs

    # --- pairing student and teacher outputs --------------------------------------------------------------------
    @torch.no_grad()
    def _pair_outputs(self) -> None:
        """Run a blank image through both detectors: build the 1x1 adapters where feature channels differ and
        check that every loss can pair the outputs, so a mismatch fails here rather than mid-training."""
        inputs = torch.zeros(1, 3, PROBE_SIZE, PROBE_SIZE)
        was_training = self.student.training
        self.student.eval()  # no BatchNorm statistics updates from the blank image
        try:
            student_out = self._run_recorded(self.student, inputs)
            teacher_out = self.teacher_outputs(inputs)
        finally:
            self.student.train(was_training)
        for name, loss in self.distill_losses.items():
            try:
                if loss.source in FEATURE_SOURCES:
                    adapters = self._make_adapters(student_out[loss.source], teacher_out[loss.source])
                    if adapters is not None:
                        self.adapters[name] = adapters
                loss.distill(*self._loss_inputs(name, loss, student_out, teacher_out))
            except ValueError as error:
                raise ValueError(f'distillation loss {name!r} ({type(loss).__name__} on {loss.source!r}) cannot pair '
                                 f'this student with this teacher: {error}') from error

    @staticmethod
    def _make_adapters(student: Sequence[Tensor], teacher: Sequence[Tensor]) -> Optional[nn.ModuleList]:
        if len(student) != len(teacher):
            raise ValueError(f'the student gives {len(student)} feature levels and the teacher {len(teacher)}; '
                             f'levels are paired one to one (make the necks output the same levels)')
        channels = [(s.shape[1], t.shape[1]) for s, t in zip(student, teacher)]
        if all(cs == ct for cs, ct in channels):
            return None
        return nn.ModuleList(nn.Conv2d(cs, ct, 1, bias=False) if cs != ct else nn.Identity() for cs, ct in channels)

    def _loss_inputs(self, name: str, loss: DistillLoss, student_out: dict, teacher_out: dict) -> Tuple:
        """``(student, teacher[, weight])`` as ``loss.distill`` takes them."""
        if loss.source in FEATURE_SOURCES:
            student, teacher = list(student_out[loss.source]), list(teacher_out[loss.source])
            if name in self.adapters:
                student = [adapter(s) for adapter, s in zip(self.adapters[name], student)]
            return student, teacher
        s_head, t_head = self.student.bbox_head, self.teacher.bbox_head
        (s_cls, s_box), (t_cls, t_box) = student_out['bbox_head'][:2], teacher_out['bbox_head'][:2]
        if loss.source == 'cls_score':
            check_same_layout(s_cls, t_cls, 'classification logits')
            return (flatten_head_output(s_cls, s_head.cls_out_channels),
                    flatten_head_output(t_cls, t_head.cls_out_channels))
        bins = {getattr(head, 'reg_max', None) for head in (s_head, t_head)}
        if None in bins or len(bins) > 1:
            raise ValueError(f'box-distribution distillation needs GFL-type heads with the same reg_max on both '
                             f'sides; student {type(s_head).__name__} reg_max={getattr(s_head, "reg_max", None)}, '
                             f'teacher {type(t_head).__name__} reg_max={getattr(t_head, "reg_max", None)}')
        check_same_layout(s_box, t_box, 'box distributions')
        check_same_layout(s_cls, t_cls, 'classification logits')
        bins = bins.pop() + 1
        weight = teacher_confidence(t_cls, t_head).repeat_interleave(4)  # one row per box side
        return flatten_head_output(s_box, bins), flatten_head_output(t_box, bins), weight

    # --- mmdet detector interface -------------------------------------------------------------------------------
    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """The student's losses plus the distillation losses (names as in ``distill_losses``)."""
        with record_outputs(self.student, self.recorded_modules) as student_out:
            losses = self.student.loss(batch_inputs, batch_data_samples)
        teacher_out = self.teacher_outputs(batch_inputs)
        for name, loss in self.distill_losses.items():
            if name in losses:
                raise ValueError(f'distillation loss name {name!r} is also a loss of the student; rename it')
            losses[name] = loss(*self._loss_inputs(name, loss, student_out, teacher_out))
        return losses

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList, rescale: bool = True) -> SampleList:
        return self.student.predict(batch_inputs, batch_data_samples, rescale=rescale)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: Optional[SampleList] = None):
        return self.student._forward(batch_inputs, batch_data_samples)

    def extract_feat(self, batch_inputs: Tensor):
        return self.student.extract_feat(batch_inputs)


def check_same_layout(student: Sequence[Tensor], teacher: Sequence[Tensor], what: str) -> None:
    """Dense-head outputs pair up only with the same levels, sizes, priors per location and classes/bins."""
    s_shapes, t_shapes = [tuple(x.shape) for x in student], [tuple(x.shape) for x in teacher]
    if s_shapes != t_shapes:
        raise ValueError(f'{what}: student levels {s_shapes} vs teacher {t_shapes}; head distillation needs the '
                         f'same strides, priors per location and classes (or bins) on both heads')


def teacher_confidence(cls_scores: List[Tensor], head: nn.Module) -> Tensor:
    """The teacher's highest foreground class probability per location and prior."""
    logits = flatten_head_output(cls_scores, head.cls_out_channels)
    if getattr(head, 'use_sigmoid_cls', True):
        return logits.sigmoid().max(dim=1).values
    return logits.softmax(dim=1)[:, :-1].max(dim=1).values  # mmdet puts background last
