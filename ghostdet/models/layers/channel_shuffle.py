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
    if torch.jit.is_tracing():  # ONNX export: a tracer cannot follow writes into a preallocated tensor
        return x.view(batch, groups, per_group, height, width).transpose(1, 2).reshape(batch, channels, height, width)
    out = torch.empty_like(x)  # keeps the memory format: NCHW, or channels-last in the deploy form
    grouped = x.view(batch, groups, per_group, height, width)
    out.view(batch, per_group, groups, height, width).copy_(grouped.transpose(1, 2))
    return out


def concat_shuffle(tensors) -> torch.Tensor:
    """``channel_shuffle(torch.cat(tensors, 1), len(tensors))`` in one copy instead of two.

    The shuffle of ``g`` concatenated equal parts puts channel ``k`` of part ``j`` at ``k * g + j``, so each part is
    written straight to its interleaved channels. ShuffleNetV2 ends every unit so. The result is channels-last if a
    part is (the deploy form), else NCHW.
    """
    parts = tuple(tensors)
    if any(t.shape != parts[0].shape for t in parts[1:]):  # (sizes are tensors under torch.jit.trace: no set)
        raise ValueError(f'concat_shuffle: the parts must have equal shapes, got {[tuple(t.shape) for t in parts]}')
    batch, channels, height, width = parts[0].shape
    if torch.jit.is_tracing():  # ONNX export: a tracer cannot follow writes into a preallocated tensor
        return torch.stack(parts, 2).flatten(1, 2)
    channels_last = any(t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous() for t in parts)
    out = torch.empty(batch, channels * len(parts), height, width, dtype=parts[0].dtype, device=parts[0].device,
                      memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    interleaved = out.view(batch, channels, len(parts), height, width)
    for index, part in enumerate(parts):
        interleaved[:, :, index] = part
    return out
