"""Foreign (ImageNet) checkpoints: layouts are unwrapped, and one that does not fit is refused whole."""
import pytest
import torch

from ghostdet.checkpoint import CheckpointMismatchError, extract_state_dict, load_state_dict_strict


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
