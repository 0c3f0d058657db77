"""GhostNet V1 and V2 against timm 1.0.31 as the independent reference."""
import pytest
import timm
import torch
from mmdet.registry import MODELS

import ghostdet  # noqa: F401
from ghostdet.checkpoint import CheckpointMismatchError
from reference_utils import assert_close, conv_macs, randomise_batch_norms, timm_block_outputs

# (ghostdet type, width) -> timm model
TIMM_NAMES = {('GhostNet', 0.5): 'ghostnet_050', ('GhostNet', 1.0): 'ghostnet_100', ('GhostNet', 1.3): 'ghostnet_130',
              ('GhostNetV2', 1.0): 'ghostnetv2_100', ('GhostNetV2', 1.3): 'ghostnetv2_130',
              ('GhostNetV2', 1.6): 'ghostnetv2_160'}


@pytest.fixture(scope='module', params=sorted(TIMM_NAMES))
def pair(request, tmp_path_factory):
    """((type, width), timm model, ghostdet model loaded from the timm state dict file)."""
    torch.manual_seed(0)
    reference = randomise_batch_norms(timm.create_model(TIMM_NAMES[request.param], pretrained=False)).eval()
    path = tmp_path_factory.mktemp('ckpt') / 'timm.pth'
    torch.save(reference.state_dict(), path)  # includes conv_head / classifier, dropped on load
    arch, width = request.param
    model = MODELS.build(dict(type=arch, widen_factor=width, out_indices=tuple(range(10)),
                              init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    model.init_weights()
    return request.param, reference, model.eval()


@torch.no_grad()
def test_equal_to_timm_at_every_block(pair):
    _, reference, model = pair
    x = torch.randn(2, 3, 97, 131)  # non-square, odd: DFC pools with floor and up-samples to the exact size
    refs = timm_block_outputs(reference, x)
    assert_close(model(x), refs)
    assert model.level_channels == [r.shape[1] for r in refs]


@torch.no_grad()
def test_deploy_form_is_equal_and_has_no_batch_norm(pair, tmp_path):
    (arch, width), reference, _ = pair
    torch.save(reference.state_dict(), tmp_path / 'w.pth')
    model = MODELS.build(dict(type=arch, widen_factor=width, out_indices=tuple(range(10)),
                              init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'w.pth'))))
    model.init_weights()
    model.eval().switch_to_deploy()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    x = torch.randn(1, 3, 64, 96)
    assert_close(model(x), timm_block_outputs(reference, x))


# reference facts at 1.0x, 224x224: backbone (stem..blocks.9) params and conv multiply-adds, whole classifier params
@pytest.mark.parametrize('arch, timm_name, params_ref, macs_ref, classifier_ref', [
    ('GhostNet', 'ghostnet_100', 2.671e6, 138.6e6, 5.18e6),
    ('GhostNetV2', 'ghostnetv2_100', 3.646e6, 164.5e6, 6.16e6),
])
def test_params_and_macs_match_timm_feature_part(arch, timm_name, params_ref, macs_ref, classifier_ref):
    reference = timm.create_model(timm_name, pretrained=False)
    model = MODELS.build(dict(type=arch))
    head = sum(p.numel() for n, p in reference.named_parameters() if n.startswith(('conv_head', 'classifier')))
    params = sum(p.numel() for p in model.parameters())
    assert params == sum(p.numel() for p in reference.parameters()) - head
    assert abs(params / params_ref - 1) < 0.005
    assert abs(sum(p.numel() for p in reference.parameters()) / classifier_ref - 1) < 0.005
    x = torch.randn(1, 3, 224, 224)
    macs = conv_macs(model, x)
    assert macs == conv_macs(reference, x, forward=reference.forward_features)
    assert abs(macs / macs_ref - 1) < 0.005  # the papers' "FLOPs" are conv multiply-adds


def test_default_levels_are_stage_ends():
    model = MODELS.build(dict(type='GhostNet')).eval()
    outs = model(torch.randn(1, 3, 128, 192))
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 32, 48), (40, 16, 24), (112, 8, 12), (960, 4, 6)]
    assert model.out_channels == [24, 40, 112, 960]


def test_official_checkpoint_layout_with_thop_keys(tmp_path):
    """Official files wrap the weights in `state_dict` and carry thop `total_ops`/`total_params` buffers."""
    reference = randomise_batch_norms(timm.create_model('ghostnet_050', pretrained=False)).eval()
    state = dict(reference.state_dict())
    state.update({'total_ops': torch.zeros(1), 'blocks.0.0.total_params': torch.zeros(1)})
    torch.save({'state_dict': state, 'epoch': 10}, tmp_path / 'official.pth.tar')
    model = MODELS.build(dict(type='GhostNet', widen_factor=0.5, out_indices=(9, ),
                              init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'official.pth.tar'))))
    model.init_weights()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert_close(model.eval()(x), timm_block_outputs(reference, x)[-1:])


def test_checkpoint_of_another_width_is_refused(tmp_path):
    torch.save(timm.create_model('ghostnet_050').state_dict(), tmp_path / 'w050.pth')
    model = MODELS.build(dict(type='GhostNet', widen_factor=1.0,
                              init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'w050.pth'))))
    before = model.conv_stem.weight.clone()
    with pytest.raises(CheckpointMismatchError, match=r'(?s)shape mismatches.*widen_factor=1.0'):
        model.init_weights()
    assert torch.equal(model.conv_stem.weight, before)  # nothing half-loaded


@pytest.mark.parametrize('kwargs, message', [
    (dict(widen_factor=0), 'widen_factor must be a positive number'),
    (dict(widen_factor=-1.0), 'widen_factor must be a positive number'),
    (dict(out_indices=(10, )), r'out_indices must be unique, sorted integers in \[0, 9\]'),
    (dict(out_indices=(4, 2)), r'in \[0, 9\]'),
    (dict(out_indices=()), r'in \[0, 9\]'),
    (dict(frozen_stages=11), r'frozen_stages must be in \[-1, 10\]'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(dict(type='GhostNet', **kwargs))


def test_frozen_stages_and_norm_eval():
    model = MODELS.build(dict(type='GhostNet', widen_factor=0.5, frozen_stages=3, norm_eval=True))
    model.train()
    frozen = [model.conv_stem, model.bn1, *model.blocks[:3]]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in model.blocks[3:].parameters())
    assert all(not m.training for m in frozen)
    assert model.blocks[3].training
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(not bn.training for bn in batch_norms)
    stats = [bn.running_mean.clone() for bn in batch_norms]
    model(torch.randn(2, 3, 64, 64))
    assert all(torch.equal(s, bn.running_mean) for s, bn in zip(stats, batch_norms))

    trainable = MODELS.build(dict(type='GhostNet', widen_factor=0.5, frozen_stages=0)).train()
    assert not trainable.conv_stem.weight.requires_grad and trainable.blocks[0][0].ghost1.primary_conv[0].weight.requires_grad
    assert trainable.blocks[0].training
