"""What every ghostdet distillation loss shares: which detector output it compares, its weight, its warm-up."""
from abc import ABCMeta, abstractmethod
from typing import Sequence, Union

import torch.nn as nn
from mmengine.logging import MessageHub
from torch import Tensor

# Detector outputs a distillation loss can compare (see DistillationDetector): feature maps of the backbone or
# of the neck, and the raw outputs of a dense head (classification logits, GFL box distributions).
FEATURE_SOURCES = ('backbone', 'neck')
HEAD_SOURCES = ('cls_score', 'bbox_pred')


class DistillLoss(nn.Module, metaclass=ABCMeta):
    """Base class: ``forward`` = ``loss_weight`` x warm-up factor x :meth:`distill`.

    The warm-up ramps the weight linearly from ``1 / warmup_iters`` at the first iteration to 1 at iteration
    ``warmup_iters - 1``, so a randomly initialised student is not dominated by imitation at the start. The
    iteration is mmengine's (``MessageHub`` info ``'iter'``, kept by the runner and restored on resume); outside a
    runner the loss counts its own training-mode calls.

    Args:
        loss_weight (float): Weight of the loss.
        warmup_iters (int): Length of the linear warm-up in iterations; 0 disables it.
    """
    source: str = 'neck'  # which detector output the loss compares; subclasses fix or expose it

    def __init__(self, loss_weight: float = 1.0, warmup_iters: int = 0) -> None:
        super().__init__()
        if loss_weight < 0:
            raise ValueError(f'loss_weight must be >= 0, got {loss_weight}')
        if warmup_iters < 0:
            raise ValueError(f'warmup_iters must be >= 0, got {warmup_iters}')
        self.loss_weight = loss_weight
        self.warmup_iters = warmup_iters
        self._calls = 0

    def current_iter(self) -> int:
        """The runner's iteration if one is running, else the number of training-mode calls so far."""
        runner_iter = MessageHub.get_current_instance().get_info('iter')
        return self._calls if runner_iter is None else int(runner_iter)

    def warmup_factor(self) -> float:
        if self.warmup_iters == 0:
            return 1.0
        return min(1.0, (self.current_iter() + 1) / self.warmup_iters)

    @abstractmethod
    def distill(self, student, teacher, *args, **kwargs) -> Tensor:
        """The unweighted loss; the teacher side is treated as a constant."""

    def forward(self, student, teacher, *args, **kwargs) -> Tensor:
        factor = self.warmup_factor()
        if self.training:
            self._calls += 1
        return self.loss_weight * factor * self.distill(student, teacher, *args, **kwargs)

    def extra_repr(self) -> str:
        return f'source={self.source!r}, loss_weight={self.loss_weight}, warmup_iters={self.warmup_iters}'


def as_levels(student: Union[Tensor, Sequence[Tensor]], teacher: Union[Tensor, Sequence[Tensor]]):
    """Student and teacher feature maps as equally long lists of ``(N, C, H, W)`` tensors, teacher detached."""
    student = [student] if isinstance(student, Tensor) else list(student)
    teacher = [teacher] if isinstance(teacher, Tensor) else list(teacher)
    if not student or len(student) != len(teacher):
        raise ValueError(f'the student gives {len(student)} feature levels and the teacher {len(teacher)}; '
                         f'feature distillation pairs at least one level, one to one')
    for level, (s, t) in enumerate(zip(student, teacher)):
        if s.dim() != 4 or t.dim() != 4 or s.shape[:2] != t.shape[:2]:
            raise ValueError(f'level {level}: student {tuple(s.shape)} and teacher {tuple(t.shape)} must both be '
                             f'(N, C, H, W) with the same N and C (DistillationDetector adds a 1x1 adapter when '
                             f'the channels differ)')
    return student, [t.detach() for t in teacher]


def check_pairs(student: Tensor, teacher: Tensor, what: str) -> None:
    """Logits/distributions flattened to ``(M, K)`` must line up row by row."""
    if student.dim() != 2 or student.shape != teacher.shape:
        raise ValueError(f'{what}: student {tuple(student.shape)} and teacher {tuple(teacher.shape)} must be '
                         f'(M, K) tensors of the same shape (same locations, priors and classes/bins)')

