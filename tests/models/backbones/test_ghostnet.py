"""GhostNet V1, V2 and V3 against timm 1.0.31 as the independent reference.

Weights always travel the user's way: a timm state dict saved to a file and loaded through
``init_cfg=dict(type='Pretrained', ...)``. BN statistics are randomised so a misplaced BN cannot hide.
"""
import copy

import pytest
import timm
import torch
from mmengine.analysis import get_model_complexity_info
from mmdet.registry import MODELS

import ghostdet  # noqa: F401
from ghostdet.checkpoint import CheckpointMismatchError
from ghostdet.testing import assert_close, conv_macs, randomise_batch_norms, timm_block_outputs

TIMM_NAMES = {
    ('GhostNet', 0.5): 'ghostnet_050', ('GhostNet', 1.0): 'ghostnet_100', ('GhostNet', 1.3): 'ghostnet_130',
    ('GhostNetV2', 1.0): 'ghostnetv2_100', ('GhostNetV2', 1.3): 'ghostnetv2_130', ('GhostNetV2', 1.6): 'ghostnetv2_160',
    ('GhostNetV3', 0.5): 'ghostnetv3_050', ('GhostNetV3', 1.0): 'ghostnetv3_100', ('GhostNetV3', 1.3): 'ghostnetv3_130',
    ('GhostNetV3', 1.6): 'ghostnetv3_160',
}
ALL_LEVELS = tuple(range(10))


def timm_reference(name: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return randomise_batch_norms(timm.create_model(name), seed=seed).eval()


def build(arch: str, width: float, checkpoint=None, pretrained: dict = None, **kwargs) -> torch.nn.Module:
    """A ghostdet backbone returning all 10 levels, loaded from ``checkpoint`` through init_cfg if given."""
    init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint), **(pretrained or {})) if checkpoint else None
    kwargs.setdefault('out_indices', ALL_LEVELS)
    model = MODELS.build(dict(type=arch, widen_factor=width, init_cfg=init_cfg, **kwargs))
    if checkpoint:
        model.init_weights()
    return model.eval()


@pytest.mark.parametrize('arch, width', sorted(TIMM_NAMES))
@torch.no_grad()
def test_equal_to_timm_at_every_block_in_both_forms(arch, width, tmp_path):
    reference = timm_reference(TIMM_NAMES[arch, width])
    torch.save(reference.state_dict(), tmp_path / 'timm.pth')  # with conv_head / classifier: dropped on load
    model = build(arch, width, tmp_path / 'timm.pth')
    # non-square; odd for the DFC versions (the 2x2 pool floors, the gate is up-sampled to the exact size)
    x = torch.randn(2, 3, 64, 96) if arch == 'GhostNet' else torch.randn(1, 3, 45, 67)
    refs = timm_block_outputs(reference, x)
    assert_close(model(x), refs)
    assert model.level_channels == [r.shape[1] for r in refs]

    model.switch_to_deploy()
    if hasattr(reference, 'convert_to_deploy'):  # V3: compare with timm's own fused form
        reference.convert_to_deploy()
        refs = timm_block_outputs(reference, x)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert_close(model(x), refs)


@torch.no_grad()
def test_gate_upsampling_matches_timm_on_even_and_odd_maps(tmp_path):
    """The DFC gate takes a fast path when the map is exactly twice the pooled gate; both paths equal timm."""
    reference = timm_reference('ghostnetv2_100', seed=5)
    torch.save(reference.state_dict(), tmp_path / 'timm.pth')
    model = build('GhostNetV2', 1.0, tmp_path / 'timm.pth').switch_to_deploy()
    for shape in ((2, 3, 64, 96), (1, 3, 70, 98)):
        x = torch.randn(shape)
        assert_close(model(x), timm_block_outputs(reference, x))


# Reference facts at 1.0x, 224x224 (shared/reference/backbones.md 1.4): backbone params (stem..blocks.9), conv
# multiply-adds (the papers' "FLOPs"), and params of the whole timm classifier.
@pytest.mark.parametrize('arch, params_ref, macs_ref, classifier_ref', [
    ('GhostNet', 2.671e6, 138.6e6, 5.183e6),
    ('GhostNetV2', 3.646e6, 164.5e6, 6.157e6),
])
def test_params_and_macs_match_timm_and_published_figures(arch, params_ref, macs_ref, classifier_ref):
    reference = timm.create_model(TIMM_NAMES[arch, 1.0])
    model = build(arch, 1.0)
    head = sum(p.numel() for n, p in reference.named_parameters() if n.startswith(('conv_head', 'classifier')))
    params = sum(p.numel() for p in model.parameters())
    assert params == sum(p.numel() for p in reference.parameters()) - head
    assert abs(params / params_ref - 1) < 0.005
    assert abs((params + head) / classifier_ref - 1) < 0.005
    x = torch.randn(1, 3, 224, 224)
    macs = conv_macs(model, x)
    assert macs == conv_macs(reference, x, forward=reference.forward_features)
    assert abs(macs / macs_ref - 1) < 0.005


def test_ghostnetv3_size_in_training_and_fused_form():
    """1.0x with the classifier head: 8.129M params in training form, 6.148M after timm's fusion (which keeps the
    BN outside the re-parameterised convs; ours folds those too). Fused multiply-adds are GhostNetV2's."""
    reference = timm.create_model('ghostnetv3_100')
    head = sum(p.numel() for n, p in reference.named_parameters() if n.startswith(('conv_head', 'classifier')))
    model = build('GhostNetV3', 1.0)
    params = sum(p.numel() for p in model.parameters())
    assert params + head == sum(p.numel() for p in reference.parameters())
    assert abs((params + head) / 8.129e6 - 1) < 0.005
    model.switch_to_deploy()
    reference.convert_to_deploy()
    timm_bn = sum(p.numel() for m in reference.modules() if isinstance(m, torch.nn.BatchNorm2d)
                  for p in m.parameters())
    timm_deploy = sum(p.numel() for p in reference.parameters())
    assert abs(timm_deploy / 6.148e6 - 1) < 0.005
    # a folded BN leaves a bias of its width behind: timm's fused count minus half of its remaining BN params
    assert sum(p.numel() for p in model.parameters()) + head == timm_deploy - timm_bn // 2
    x = torch.randn(1, 3, 224, 224)
    assert conv_macs(model, x) == conv_macs(build('GhostNetV2', 1.0), x)


def test_complexity_analysis_counts_the_fused_form():
    """mmengine's get_model_complexity_info on a fused GhostNetV3 sees one conv per re-parameterised site: the
    same FLOPs and params as a fused GhostNetV2 of the same width, a fraction of the training form's."""
    def complexity(model):
        info = get_model_complexity_info(model, input_shape=(3, 64, 64), show_table=False, show_arch=False)
        return info['flops'], info['params']

    v3 = build('GhostNetV3', 0.5, out_indices=(9, ))
    train_flops, train_params = complexity(v3)
    fused_flops, fused_params = complexity(v3.switch_to_deploy())
    v2_flops, v2_params = complexity(build('GhostNetV2', 0.5, out_indices=(9, )).switch_to_deploy())
    assert (fused_flops, fused_params) == (v2_flops, v2_params)
    assert fused_params == sum(p.numel() for p in v3.parameters())
    assert fused_flops < 0.5 * train_flops and fused_params < 0.75 * train_params


@torch.no_grad()
def test_ghostnetv3_fused_keys_are_timms_deploy_keys():
    """Where timm fuses (Ghost module convs, stride-2 depthwise conv) ours has the same key names and shapes."""
    reference = timm.create_model('ghostnetv3_050').eval()
    reference.convert_to_deploy()
    timm_keys = {k: v.shape for k, v in reference.state_dict().items()}
    ours = build('GhostNetV3', 0.5).switch_to_deploy().state_dict()
    fused_sites = ('.primary_conv.0.', '.cheap_operation.0.', '.conv_dw.')
    fused = {k: v.shape for k, v in ours.items() if any(site in k for site in fused_sites)}
    assert len(fused) == 2 * (2 * 2 * 16 + 4)  # weight + bias: 2 Ghost modules x 2 convs x 16 blocks, 4 stride-2
    assert all(timm_keys.get(k) == shape for k, shape in fused.items())


@torch.no_grad()
def test_deploy_constructor_loads_a_fused_checkpoint(tmp_path):
    trained = randomise_batch_norms(build('GhostNetV3', 0.5), seed=2)
    torch.save(copy.deepcopy(trained).switch_to_deploy().state_dict(), tmp_path / 'fused.pth')
    direct = build('GhostNetV3', 0.5, tmp_path / 'fused.pth', deploy=True)
    x = torch.randn(2, 3, 64, 80)
    assert_close(direct(x), trained(x))
    torch.save(trained.state_dict(), tmp_path / 'train.pth')
    with pytest.raises(CheckpointMismatchError, match='missing keys'):  # a training-form file does not fit
        build('GhostNetV3', 0.5, tmp_path / 'train.pth', deploy=True)


def official_layout(state: dict, v3: bool = False) -> dict:
    """What the official files hold: thop ``total_ops``/``total_params`` buffers; V3 names ``...rpr_*.bn.``."""
    out = {k.replace('.bn1.', '.bn.') if v3 and '_rpr_' in k else k: v for k, v in state.items()}
    out.update({'total_ops': torch.zeros(1), 'total_params': torch.zeros(1),
                'blocks.0.0.ghost1.total_ops': torch.zeros(1)})
    return out


@pytest.mark.parametrize('arch, wrapper', [('GhostNet', None), ('GhostNet', 'state_dict'),
                                           ('GhostNetV2', 'state_dict')])
@torch.no_grad()
def test_official_v1_v2_checkpoint_layouts(arch, wrapper, tmp_path):
    """state_dict_73.98.pth is a bare state dict; ck_ghostnetv2_*.pth.tar wrap it and carry thop buffers."""
    name = {'GhostNet': 'ghostnet_050', 'GhostNetV2': 'ghostnetv2_100'}[arch]
    reference = timm_reference(name, seed=3)
    state = official_layout(reference.state_dict())
    torch.save({wrapper: state, 'epoch': 10} if wrapper else state, tmp_path / 'official.pth.tar')
    width = 0.5 if arch == 'GhostNet' else 1.0
    model = build(arch, width, tmp_path / 'official.pth.tar', out_indices=(4, 9))
    x = torch.randn(1, 3, 64, 64)
    refs = timm_block_outputs(reference, x)
    assert_close(model(x), [refs[4], refs[9]])


@torch.no_grad()
def test_official_ghostnetv3_checkpoint_with_ema(tmp_path):
    """ghostnetv3-1.0.pth.tar: ``state_dict`` and ``state_dict_ema``, official ``.bn.`` naming, thop buffers."""
    reference, ema = timm_reference('ghostnetv3_050', seed=3), timm_reference('ghostnetv3_050', seed=4)
    torch.save({'state_dict': official_layout(reference.state_dict(), v3=True),
                'state_dict_ema': official_layout(ema.state_dict(), v3=True)}, tmp_path / 'ghostnetv3-0.5.pth.tar')
    x = torch.randn(1, 3, 64, 64)
    assert_close(build('GhostNetV3', 0.5, tmp_path / 'ghostnetv3-0.5.pth.tar')(x), timm_block_outputs(reference, x))
    with_ema = build('GhostNetV3', 0.5, tmp_path / 'ghostnetv3-0.5.pth.tar', pretrained=dict(use_ema=True))
    assert_close(with_ema(x), timm_block_outputs(ema, x))

    torch.save({'state_dict': reference.state_dict()}, tmp_path / 'no_ema.pth')
    with pytest.raises(CheckpointMismatchError, match='no "state_dict_ema"'):
        build('GhostNetV3', 0.5, tmp_path / 'no_ema.pth', pretrained=dict(use_ema=True))


@pytest.mark.parametrize('arch, source', [('GhostNet', 'ghostnet_050'), ('GhostNetV2', 'ghostnet_100'),
                                          ('GhostNetV3', 'ghostnetv2_100')])
def test_checkpoint_of_another_width_or_version_is_refused_untouched(arch, source, tmp_path):
    torch.save(timm.create_model(source).state_dict(), tmp_path / 'other.pth')
    model = MODELS.build(dict(type=arch, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'other.pth'))))
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(CheckpointMismatchError,
                       match=rf'(?s)nothing was loaded.*{arch} checkpoint of widen_factor=1.0'):
        model.init_weights()
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())


def test_default_levels_and_out_indices():
    model = build('GhostNetV2', 1.0, out_indices=None)
    outs = model(torch.randn(1, 3, 128, 192))
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 32, 48), (40, 16, 24), (112, 8, 12), (960, 4, 6)]
    assert model.out_channels == [24, 40, 112, 960]
    model = build('GhostNetV3', 0.5, out_indices=(1, 8))
    assert [o.shape[1] for o in model(torch.randn(1, 3, 64, 64))] == model.out_channels == [12, 80]


@pytest.mark.parametrize('arch', ['GhostNet', 'GhostNetV2', 'GhostNetV3'])
@pytest.mark.parametrize('kwargs, message', [
    (dict(widen_factor=0), 'widen_factor must be a positive number'),
    (dict(widen_factor=-1.0), 'widen_factor must be a positive number'),
    (dict(widen_factor='1.0'), 'widen_factor must be a positive number'),
    (dict(out_indices=(10, )), r'out_indices must be unique, sorted integers in \[0, 9\]'),
    (dict(out_indices=(4, 2)), r'in \[0, 9\]'),
    (dict(out_indices=()), r'in \[0, 9\]'),
    (dict(frozen_stages=11), r'frozen_stages must be in \[-1, 10\]'),
])
def test_bad_arguments(arch, kwargs, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(dict(type=arch, **kwargs))


def test_training_form_backpropagates_through_every_branch():
    model = MODELS.build(dict(type='GhostNetV3', widen_factor=0.5, out_indices=(9, ))).train()
    model(torch.randn(2, 3, 64, 64))[0].sum().backward()
    assert all(p.grad is not None for p in model.parameters())


# The deepest DFC attention computed pools its input 2x: blocks.2..4 pool at stride 4 / 4 / 8, blocks.5..7 at
# 8 / 16 / 16, blocks.8..9 at 32; the map at stride s of an n-px input has ceil(n / s) px and must have 2.
@pytest.mark.parametrize('arch', ['GhostNetV2', 'GhostNetV3'])
@pytest.mark.parametrize('last_level, minimum', [(2, 5), (4, 9), (6, 17), (7, 17), (9, 33)])
@torch.no_grad()
def test_smallest_input_is_named_and_exact(arch, last_level, minimum):
    model = build(arch, 0.5, out_indices=(last_level, ))
    assert model.min_input_size == minimum
    model(torch.randn(1, 3, minimum, 2 * minimum + 1))
    for shape in ((minimum - 1, 64), (64, minimum - 1)):
        with pytest.raises(ValueError, match=rf'at least {minimum} px per side: the DFC attention average-pools'):
            model(torch.randn(1, 3, *shape))
    model.min_input_size = 1  # without the check the same input fails deep inside (so the limit is exact)
    with pytest.raises(RuntimeError, match='Output size is too small'):
        model(torch.randn(1, 3, minimum - 1, 64))


@pytest.mark.parametrize('arch', ['GhostNetV2', 'GhostNetV3'])
@torch.no_grad()
def test_smallest_input_agrees_with_timm(arch):
    reference = timm.create_model(TIMM_NAMES[arch, 1.0]).eval()
    reference.forward_features(torch.randn(1, 3, 33, 33))
    with pytest.raises(RuntimeError, match='Output size is too small'):
        reference.forward_features(torch.randn(1, 3, 32, 32))
    assert build(arch, 1.0).min_input_size == 33


@torch.no_grad()
def test_ghostnet_v1_takes_any_input_size():
    model = build('GhostNet', 0.5)
    assert model.min_input_size == 1
    assert [o.shape[-1] for o in model(torch.randn(1, 3, 1, 1))] == [1] * 10
