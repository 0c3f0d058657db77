import torch


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet's shuffle).

    Output channel ``k * groups + g`` is input channel ``g * (C // groups) + k``: the standard order of the
    ShuffleNet paper, torchvision and mmpretrain (view as ``(groups, C // groups)`` and transpose), written in one
    copy into a tensor of the input's memory format.
    """
    batch, channels, height, width = x.shape
    if channels % groups:
        raise ValueError(f'channel_shuffle: {channels} channels cannot be split into {groups} equal groups')
    per_group = channels // groups
    out = torch.empty_like(x)  # keeps the memory format: NCHW, or channels-last in the deploy form
    grouped = x.view(batch, groups, per_group, height, width)
    out.view(batch, per_group, groups, height, width).copy_(grouped.transpose(1, 2))
    return out


def concat_shuffle(tensors) -> torch.Tensor:
    """``channel_shuffle(torch.cat(tensors, 1), len(tensors))`` in one copy instead of two.

    The shuffle of ``g`` concatenated equal parts puts channel ``k`` of part ``j`` at ``k * g + j``: the parts
    stacked on a new axis right after the channel axis, flattened. ShuffleNetV2 ends every unit so. If any part is
    channels-last, the result is channels-last (the new axis goes after the channels in memory: innermost).
    """
    tensors = tuple(tensors)
    if len({t.shape for t in tensors}) != 1:
        raise ValueError(f'concat_shuffle: the parts must have equal shapes, got {[tuple(t.shape) for t in tensors]}')
    if any(t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous() for t in tensors):
        stacked = torch.stack([t.permute(0, 2, 3, 1) for t in tensors], dim=4)  # N, H, W, C / g, g
        return stacked.flatten(3).permute(0, 3, 1, 2)
    return torch.stack(tensors, dim=2).flatten(1, 2)
