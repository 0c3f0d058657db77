"""The channel shuffle permutation, against constructions that do not share our code."""
import pytest
import torch
from mmpretrain.models.utils import channel_shuffle as mmpretrain_channel_shuffle
from torchvision.models.shufflenetv2 import channel_shuffle as torchvision_channel_shuffle

from ghostdet.models.layers import channel_shuffle, concat_shuffle


def labelled(batch, channels, height=3, width=5):
    """Every value names its own (batch, channel, pixel), so any permutation shows."""
    return torch.arange(batch * channels * height * width, dtype=torch.float32).reshape(batch, channels, height, width)


@pytest.mark.parametrize('channels, groups', [(6, 2), (6, 3), (12, 4), (24, 8), (7, 1), (10, 10)])
def test_permutation_is_the_paper_shuffle(channels, groups):
    """Output channel ``k * groups + j`` is channel ``k`` of input group ``j``: written out index by index."""
    x = labelled(2, channels)
    per_group = channels // groups
    expected_source = [j * per_group + k for k in range(per_group) for j in range(groups)]
    assert sorted(expected_source) == list(range(channels))  # a permutation
    out = channel_shuffle(x, groups)
    for target, source in enumerate(expected_source):
        assert torch.equal(out[:, target], x[:, source])


@pytest.mark.parametrize('channels, groups', [(116, 2), (240, 3), (96, 8)])
def test_equal_to_torchvision_and_mmpretrain(channels, groups):
    x = torch.randn(2, channels, 4, 6)
    assert torch.equal(channel_shuffle(x, groups), torchvision_channel_shuffle(x, groups))
    assert torch.equal(channel_shuffle(x, groups), mmpretrain_channel_shuffle(x, groups))


def test_every_output_group_mixes_every_input_group():
    """The point of the shuffle (paper Fig. 1): after it, each group of a following group conv sees all groups."""
    groups, per_group = 3, 6
    group_of_channel = torch.arange(groups * per_group).div(per_group, rounding_mode='floor').float()
    shuffled = channel_shuffle(group_of_channel.reshape(1, -1, 1, 1), groups).flatten()
    for block in shuffled.reshape(groups, per_group):
        assert set(block.tolist()) == set(range(groups))


def test_shuffle_with_groups_then_per_group_is_inverted():
    """Shuffling with ``g`` then with ``C / g`` restores the order (the two are inverse permutations)."""
    x = labelled(1, 24)
    assert torch.equal(channel_shuffle(channel_shuffle(x, 3), 8), x)
    assert not torch.equal(channel_shuffle(x, 3), x)


def test_channels_last_stays_channels_last():
    x = torch.randn(2, 12, 4, 6).contiguous(memory_format=torch.channels_last)
    out = channel_shuffle(x, 3)
    assert torch.equal(out, torchvision_channel_shuffle(x, 3))
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_gradient_flows_back_through_the_inverse_permutation():
    x = torch.randn(1, 12, 2, 3, requires_grad=True)
    weight = torch.randn(1, 12, 2, 3)
    (channel_shuffle(x, 3) * weight).sum().backward()
    assert torch.equal(x.grad, torchvision_channel_shuffle(weight, 4))


def test_indivisible_channels_are_an_error():
    with pytest.raises(ValueError, match='10 channels cannot be split into 3 equal groups'):
        channel_shuffle(labelled(1, 10), 3)


@pytest.mark.parametrize('parts', [2, 3])
@pytest.mark.parametrize('channels_last', [False, True])
def test_concat_shuffle_is_cat_then_shuffle(parts, channels_last):
    tensors = [torch.randn(2, 8, 5, 7) for _ in range(parts)]
    if channels_last:
        tensors = [t.contiguous(memory_format=torch.channels_last) for t in tensors]
    out = concat_shuffle(tensors)
    assert torch.equal(out, torchvision_channel_shuffle(torch.cat(tensors, 1), parts))
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    assert out.is_contiguous(memory_format=memory_format)  # one copy, in the parts' layout


def test_concat_shuffle_gradient_reaches_every_part():
    parts = [torch.randn(1, 4, 2, 3, requires_grad=True) for _ in range(2)]
    weight = torch.randn(1, 8, 2, 3)
    (concat_shuffle(parts) * weight).sum().backward()
    unshuffled = torchvision_channel_shuffle(weight, 4)  # the inverse permutation: back to cat order
    assert torch.equal(parts[0].grad, unshuffled[:, :4]) and torch.equal(parts[1].grad, unshuffled[:, 4:])


def test_concat_shuffle_needs_equal_parts():
    with pytest.raises(ValueError, match='equal shapes'):
        concat_shuffle((torch.zeros(1, 4, 2, 2), torch.zeros(1, 6, 2, 2)))
