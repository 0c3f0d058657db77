"""A hook for the distributed tests: every rank saves its model's parameters at the end of training."""
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS


@HOOKS.register_module()
class DumpRankParameters(Hook):
    """Writes ``work_dir/rank<r>_parameters.pth`` (``{name: tensor}`` of every parameter) after training."""

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        torch.save({k: v.detach().clone() for k, v in model.named_parameters()},
                   osp.join(runner.work_dir, f'rank{runner.rank}_parameters.pth'))
