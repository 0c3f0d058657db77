"""Helpers for comparing ghostdet modules with their reference implementations."""
import torch


def randomise_batch_norms(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial BN statistics and affine parameters, so a wrongly placed BN cannot hide."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.rand(n, generator=generator) * 0.4 - 0.2)
    return model


def timm_block_outputs(model, x):
    x = model.act1(model.bn1(model.conv_stem(x)))
    outs = []
    for block in model.blocks:
        x = block(x)
        outs.append(x)
    return outs


def assert_close(outs, refs, rtol=1e-5):
    assert len(outs) == len(refs)
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape
        assert (out - ref).abs().max() <= rtol * ref.abs().max()


@torch.no_grad()
def conv_macs(model, x, forward=None) -> int:
    """Multiply-adds of every Conv2d (how the GhostNet papers count FLOPs), counted with forward hooks."""
    total = []

    def hook(conv, _, out):
        total.append(out.numel() * conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1])

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    (forward or model)(x)
    for handle in handles:
        handle.remove()
    return sum(total)
