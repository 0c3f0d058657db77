"""GhostNetV3 against timm 1.0.31: training form, fused (deploy) form, checkpoint layouts."""
import copy

import pytest
import timm
import torch
from mmdet.registry import MODELS

import ghostdet  # noqa: F401
from ghostdet.checkpoint import CheckpointMismatchError

from reference_utils import assert_close, conv_macs, randomise_batch_norms, timm_block_outputs

WIDTHS = {0.5: 'ghostnetv3_050', 1.0: 'ghostnetv3_100', 1.3: 'ghostnetv3_130', 1.6: 'ghostnetv3_160'}


def build(width, checkpoint=None, **kwargs):
    init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint), **kwargs.pop('pretrained', {})) if checkpoint else None
    model = MODELS.build(dict(type='GhostNetV3', widen_factor=width, out_indices=tuple(range(10)), init_cfg=init_cfg,
                              **kwargs))
    if checkpoint:
        model.init_weights()
    return model.eval()


@pytest.mark.parametrize('width', sorted(WIDTHS))
@torch.no_grad()
def test_equal_to_timm_in_training_and_deploy_form(width, tmp_path):
    torch.manual_seed(0)
    reference = randomise_batch_norms(timm.create_model(WIDTHS[width]), seed=1).eval()
    torch.save(reference.state_dict(), tmp_path / 'timm.pth')
    model = build(width, tmp_path / 'timm.pth')
    x = torch.randn(1, 3, 67, 91)
    assert_close(model(x), timm_block_outputs(reference, x))
    model.switch_to_deploy()
    reference.convert_to_deploy()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert_close(model(x), timm_block_outputs(reference, x))


@torch.no_grad()
def test_deploy_constructor_loads_a_fused_state_dict(tmp_path):
    trained = randomise_batch_norms(build(0.5), seed=2)
    torch.save(copy.deepcopy(trained).switch_to_deploy().state_dict(), tmp_path / 'fused.pth')
    direct = build(0.5, tmp_path / 'fused.pth', deploy=True)
    x = torch.randn(2, 3, 64, 80)
    assert_close(direct(x), trained(x))
    torch.save(trained.state_dict(), tmp_path / 'train.pth')
    with pytest.raises(CheckpointMismatchError, match='missing keys'):  # a training-form file does not fit
        build(0.5, tmp_path / 'train.pth', deploy=True)


def test_size_of_both_forms_matches_timm():
    """Reference facts at 1.0x: 8.129M (training form) / 6.148M (deploy) params with the classifier head,
    deploy multiply-adds equal to GhostNetV2's (the same macro-architecture)."""
    reference = timm.create_model('ghostnetv3_100')
    head = sum(p.numel() for n, p in reference.named_parameters() if n.startswith(('conv_head', 'classifier')))
    model = build(1.0)
    assert sum(p.numel() for p in model.parameters()) + head == sum(p.numel() for p in reference.parameters())
    assert abs((sum(p.numel() for p in model.parameters()) + head) / 8.129e6 - 1) < 0.005
    model.switch_to_deploy()
    reference.convert_to_deploy()
    deploy_params = sum(p.numel() for p in model.parameters()) + head
    assert abs(deploy_params / 6.148e6 - 1) < 0.005
    x = torch.randn(1, 3, 224, 224)
    v2 = MODELS.build(dict(type='GhostNetV2'))
    assert conv_macs(model, x) == conv_macs(v2, x)


@torch.no_grad()
def test_official_checkpoint_layout_and_ema(tmp_path):
    """The official file: `state_dict` and `state_dict_ema`, `...rpr_*.bn.` keys, thop buffers, classifier."""
    reference = randomise_batch_norms(timm.create_model('ghostnetv3_050'), seed=3).eval()
    ema = randomise_batch_norms(timm.create_model('ghostnetv3_050'), seed=4).eval()

    def official(state):
        out = {k.replace('.bn1.', '.bn.') if '_rpr_' in k else k: v for k, v in state.items()}
        out['total_ops'] = torch.zeros(1)
        return out

    torch.save({'state_dict': official(reference.state_dict()), 'state_dict_ema': official(ema.state_dict())},
               tmp_path / 'ghostnetv3-0.5.pth.tar')
    x = torch.randn(1, 3, 64, 64)
    plain = build(0.5, tmp_path / 'ghostnetv3-0.5.pth.tar')
    assert_close(plain(x), timm_block_outputs(reference, x))
    with_ema = build(0.5, tmp_path / 'ghostnetv3-0.5.pth.tar', pretrained=dict(use_ema=True))
    assert_close(with_ema(x), timm_block_outputs(ema, x))
