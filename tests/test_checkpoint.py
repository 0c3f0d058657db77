"""Checkpoints written by a real mmengine Runner load on torch >= 2.6 with weights_only kept on."""
import os
import pickle

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

import ghostdet  # noqa: F401  (installs the safe loader)
from ghostdet.checkpoint import (CheckpointMismatchError, extract_state_dict, load_from_local_safe,
                                 load_state_dict_strict)


def _runner(config, work_dir, **overrides):
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(overrides)
    return Runner.from_cfg(cfg)


@pytest.fixture(scope='module')
def trained(tmp_path_factory, synthetic_coco, make_tiny_config):
    root = tmp_path_factory.mktemp('runner')
    config = make_tiny_config(root / 'cfg.py', synthetic_coco, max_iters=2)
    runner = _runner(config, root / 'work')
    runner.train()
    return config, root / 'work'


def test_plain_torch_load_refuses_mmengine_checkpoint(trained):
    """The problem is real (torch >= 2.6), and ghostdet does not weaken torch.load globally."""
    _, work = trained
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        torch.load(work / 'iter_2.pth')


def test_checkpoint_loads_for_test(trained, tmp_path):
    config, work = trained
    checkpoint = load_from_local_safe(str(work / 'iter_2.pth'))
    assert {'meta', 'state_dict', 'message_hub', 'optimizer'} <= set(checkpoint)
    metrics = _runner(config, tmp_path, load_from=str(work / 'iter_2.pth')).test()
    assert 'coco/bbox_mAP' in metrics


def test_checkpoint_resumes_training(trained, tmp_path):
    config, work = trained
    runner = _runner(config, tmp_path, load_from=str(work / 'iter_1.pth'), resume=True,
                     train_cfg=dict(max_iters=3, val_interval=3))
    runner.train()
    assert runner.iter == 3
    # the message hub (HistoryBuffer) came back from the checkpoint: the loss history spans all iterations
    assert runner.message_hub.get_scalar('train/loss').data[0].size == 3


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_arbitrary_callables_are_still_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Exploit(marker)}, path)
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


class _AttributeLookup:
    def __reduce__(self):
        return getattr, (torch.Tensor, 'tolist')


def test_only_history_buffer_methods_may_be_looked_up(tmp_path):
    path = tmp_path / 'lookup.pth'
    torch.save({'meta': _AttributeLookup()}, path)
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer statistics methods'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


def test_extract_state_dict_layouts():
    weight = torch.ones(2)
    assert extract_state_dict({'state_dict': {'module.a': weight, 'b.total_ops': weight}}) == {'a': weight}
    assert extract_state_dict({'model': {'a': weight}}) == {'a': weight}
    assert extract_state_dict({'backbone.a': weight, 'head.fc': weight}) == {'a': weight}
    ema = extract_state_dict({'state_dict': {'a': weight}, 'state_dict_ema': {'a': 2 * weight}}, use_ema=True)
    assert torch.equal(ema['a'], 2 * weight)
    with pytest.raises(CheckpointMismatchError, match='state_dict_ema'):
        extract_state_dict({'state_dict': {'a': weight}}, use_ema=True)
    with pytest.raises(CheckpointMismatchError, match='prefix'):
        extract_state_dict({'a': weight}, prefix='neck')


def test_strict_loading_lists_problems_and_loads_nothing():
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    before = {k: v.clone() for k, v in module.state_dict().items()}
    bad = {'0.weight': torch.zeros(4, 3, 3, 3), '1.weight': torch.zeros(4), 'fc.weight': torch.zeros(1)}
    with pytest.raises(CheckpointMismatchError) as info:
        load_state_dict_strict(module, bad)
    message = str(info.value)
    assert 'missing keys: 0.bias, 1.bias, 1.running_mean, 1.running_var' in message
    assert 'unexpected keys: fc.weight' in message
    assert '0.weight (4, 3, 3, 3) vs model (4, 3, 1, 1)' in message
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    good = {k: torch.full_like(v, 0.5) for k, v in module.state_dict().items() if 'num_batches' not in k}
    load_state_dict_strict(module, good)
    assert torch.equal(module[0].weight, torch.full_like(module[0].weight, 0.5))
