import torch


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet's shuffle).

    Output channel ``k * groups + g`` is input channel ``g * (C // groups) + k``: the standard order of the
    ShuffleNet paper, torchvision and mmpretrain (view as ``(groups, C // groups)`` and transpose).
    """
    batch, channels, height, width = x.shape
    if channels % groups:
        raise ValueError(f'channel_shuffle: {channels} channels cannot be split into {groups} equal groups')
    x = x.view(batch, groups, channels // groups, height, width).transpose(1, 2)
    return x.reshape(batch, channels, height, width)
