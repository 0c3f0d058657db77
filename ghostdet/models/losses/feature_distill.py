"""Distillation of feature maps (FPN or backbone levels): channel-wise distillation (CWD) and Pearson
correlation distillation (PKD). Levels are paired one to one and their losses summed."""
from typing import Sequence, Union

import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from .base import FEATURE_SOURCES, DistillLoss, as_levels

Features = Union[Tensor, Sequence[Tensor]]


class FeatureDistillLoss(DistillLoss):
    """A loss on feature maps; ``source`` picks the backbone's or the neck's outputs."""

    def __init__(self, source: str = 'neck', loss_weight: float = 1.0, warmup_iters: int = 0) -> None:
        super().__init__(loss_weight, warmup_iters)
        if source not in FEATURE_SOURCES:
            raise ValueError(f'source must be one of {FEATURE_SOURCES}, got {source!r}')
        self.source = source


@MODELS.register_module()
class CWDLoss(FeatureDistillLoss):
    """Channel-wise distillation (Shu et al., ICCV 2021).

    Each channel is turned into a distribution over its ``H x W`` locations (``softmax(x / tau)``) and the student
    matches the teacher's: ``tau^2 * sum KL(teacher || student) / (N * C)`` per level. Needs equal spatial sizes.

    Args:
        tau (float): Temperature (the paper and mmrazor use 1 for detection, with ``loss_weight`` around 5-10).
        source (str): ``'neck'`` or ``'backbone'``.
        loss_weight (float), warmup_iters (int): See :class:`DistillLoss`.
    """

    def __init__(self, tau: float = 1.0, source: str = 'neck', loss_weight: float = 1.0,
                 warmup_iters: int = 0) -> None:
        super().__init__(source, loss_weight, warmup_iters)
        if tau <= 0:
            raise ValueError(f'temperature tau must be > 0, got {tau}')
        self.tau = tau

    def distill(self, student: Features, teacher: Features) -> Tensor:
        student, teacher = as_levels(student, teacher)
        loss = 0
        for level, (s, t) in enumerate(zip(student, teacher)):
            if s.shape != t.shape:
                raise ValueError(f'CWDLoss level {level}: student {tuple(s.shape)} and teacher {tuple(t.shape)} '
                                 f'differ in size; CWD compares the same locations (use PKDLoss, which resizes)')
            n, c = s.shape[:2]
            log_p_s = F.log_softmax(s.flatten(2) / self.tau, dim=2)
            log_p_t = F.log_softmax(t.flatten(2) / self.tau, dim=2)
            kl = F.kl_div(log_p_s, log_p_t, reduction='sum', log_target=True)
            loss = loss + kl * self.tau ** 2 / (n * c)
        return loss

    def extra_repr(self) -> str:
        return f'tau={self.tau}, ' + super().extra_repr()


@MODELS.register_module()
class PKDLoss(FeatureDistillLoss):
    """Pearson correlation distillation (Cao et al., NeurIPS 2022).

    Every channel of both maps is standardised over ``(N, H, W)``; the loss per level is half the mean squared
    difference, which equals ``mean over channels of (1 - r)`` with ``r`` the Pearson correlation of student and
    teacher activations. It is blind to per-channel scale and shift, so teachers and students of different
    architectures (and activation magnitudes) can be paired. A student map of another spatial size is resized
    (bilinear) to the teacher's.

    Args:
        source (str): ``'neck'`` or ``'backbone'``.
        loss_weight (float), warmup_iters (int): See :class:`DistillLoss` (mmrazor's PKD configs use 6-10).
    """
    eps = 1e-6

    def standardise(self, feat: Tensor) -> Tensor:
        mean = feat.mean(dim=(0, 2, 3), keepdim=True)
        std = feat.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
        return (feat - mean) / (std + self.eps)

    def distill(self, student: Features, teacher: Features) -> Tensor:
        student, teacher = as_levels(student, teacher)
        loss = 0
        for s, t in zip(student, teacher):
            if s.shape[2:] != t.shape[2:]:
                s = F.interpolate(s, size=t.shape[2:], mode='bilinear', align_corners=False)
            loss = loss + F.mse_loss(self.standardise(s), self.standardise(t)) / 2
        return loss
