"""Distillation of dense-head outputs: classification logits (KD) and GFL box distributions (LD).

Both compare the student and the teacher at the same locations and priors; DistillationDetector flattens each
head output to ``(M, K)`` rows (one row per location and prior) before calling them.
"""
from typing import Optional

import torch.nn.functional as F
from mmdet.models.losses import KnowledgeDistillationKLDivLoss
from mmdet.registry import MODELS
from torch import Tensor

from .base import DistillLoss, check_pairs


@MODELS.register_module()
class LogitKDLoss(DistillLoss):
    """Knowledge distillation on the classification logits of a dense head (Hinton et al., 2015).

    ``T^2 * mean_rows KL(p_teacher || p_student)`` with ``p = softmax(logits / T)`` over the classes of one
    location and prior. The defaults are the GhostNetV3 recipe's (T = 1, weight 1): its soft-target cross-entropy
    ``-sum p_teacher log p_student`` differs from this KL only by the teacher's entropy, a constant, so both give
    the same gradients, and the KL reads 0 when the student matches the teacher.

    Args:
        T (float): Temperature.
        activation (str): ``'softmax'`` (one distribution over the classes, the recipe's form) or ``'sigmoid'``
            (an independent Bernoulli per class, the KL summed over classes: the natural form for heads trained
            with sigmoid focal/quality-focal losses, where background is "all classes off").
        loss_weight (float), warmup_iters (int): See :class:`DistillLoss`.
    """
    source = 'cls_score'

    def __init__(self, T: float = 1.0, activation: str = 'softmax', loss_weight: float = 1.0,
                 warmup_iters: int = 0) -> None:
        super().__init__(loss_weight, warmup_iters)
        if T <= 0:
            raise ValueError(f'temperature T must be > 0, got {T}')
        if activation not in ('softmax', 'sigmoid'):
            raise ValueError(f"activation must be 'softmax' or 'sigmoid', got {activation!r}")
        self.T = T
        self.activation = activation

    def distill(self, student: Tensor, teacher: Tensor) -> Tensor:
        check_pairs(student, teacher, 'LogitKDLoss')
        if student.numel() == 0:
            return student.sum() * 0
        s, t = student / self.T, teacher.detach() / self.T
        if self.activation == 'softmax':
            kl = F.kl_div(F.log_softmax(s, dim=1), F.log_softmax(t, dim=1), reduction='none', log_target=True)
        else:  # KL of Bernoulli(sigmoid(t)) || Bernoulli(sigmoid(s)); logsigmoid(-z) = log(1 - sigmoid(z))
            p_t = t.sigmoid()
            kl = (p_t * (F.logsigmoid(t) - F.logsigmoid(s))
                  + (1 - p_t) * (F.logsigmoid(-t) - F.logsigmoid(-s)))
        return kl.sum(dim=1).mean() * self.T ** 2

    def extra_repr(self) -> str:
        return f'T={self.T}, activation={self.activation!r}, ' + super().extra_repr()


@MODELS.register_module()
class LDLoss(DistillLoss):
    """Localization distillation (LD, Zheng et al., CVPR 2022) on GFL-type box distributions.

    Each row is the ``reg_max + 1``-bin distribution of one box side; the per-row loss is mmdet's
    :class:`~mmdet.models.losses.KnowledgeDistillationKLDivLoss` (KL of temperature-softened softmaxes, averaged
    over bins, times ``T^2``). mmdet's ``LDHead`` applies it to the positive samples of its own label assignment;
    outside the head no assignment exists, so here every row is weighted by ``weight`` (DistillationDetector
    passes the teacher's classification confidence at that location) and the loss is the weighted mean.

    Args:
        T (float): Temperature (mmdet's LD default: 10).
        loss_weight (float), warmup_iters (int): See :class:`DistillLoss`.
    """
    source = 'bbox_pred'

    def __init__(self, T: float = 10, loss_weight: float = 1.0, warmup_iters: int = 0) -> None:
        super().__init__(loss_weight, warmup_iters)
        self.kd = KnowledgeDistillationKLDivLoss(reduction='mean', loss_weight=1.0, T=T)

    def distill(self, student: Tensor, teacher: Tensor, weight: Optional[Tensor] = None) -> Tensor:
        check_pairs(student, teacher, 'LDLoss')
        if student.numel() == 0:
            return student.sum() * 0
        if weight is None:
            return self.kd(student, teacher.detach())
        weight = weight.detach()
        if weight.shape != student.shape[:1]:
            raise ValueError(f'LDLoss: weight {tuple(weight.shape)} must have one entry per row '
                             f'({student.shape[0]})')
        return self.kd(student, teacher.detach(), weight=weight, avg_factor=weight.sum().clamp(min=1e-6))

    def extra_repr(self) -> str:
        return f'T={self.kd.T}, ' + super().extra_repr()
