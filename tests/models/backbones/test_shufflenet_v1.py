"""ShuffleNetV1 against mmpretrain 1.2 and the complexity figures of the ShuffleNet references."""
import pytest
import torch
from mmdet.registry import MODELS
from mmpretrain.models.backbones import ShuffleNetV1 as MMPretrainShuffleNetV1

import ghostdet  # noqa: F401
from ghostdet.checkpoint import CheckpointMismatchError
from ghostdet.testing import assert_close, conv_macs, randomise_batch_norms

GROUPS = (1, 2, 3, 4, 8)
WIDTHS = (0.25, 0.5, 1.0, 1.5, 2.0)
# (groups, widen_factor) whose unit channels do not split into the groups (mmpretrain cannot build them either)
INVALID = {(3, 0.25), (4, 0.25), (4, 0.5), (4, 1.5), (8, 0.25), (8, 0.5), (8, 1.5)}
VALID = [(g, w) for g in GROUPS for w in WIDTHS if (g, w) not in INVALID]


def build(groups=3, widen_factor=1.0, checkpoint=None, **kwargs):
    init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint)) if checkpoint else None
    model = MODELS.build(dict(type='ShuffleNetV1', groups=groups, widen_factor=widen_factor, init_cfg=init_cfg,
                              **kwargs))
    model.init_weights()
    return model


def mmpretrain_reference(groups, widen_factor):
    torch.manual_seed(0)
    reference = randomise_batch_norms(MMPretrainShuffleNetV1(groups=groups, widen_factor=widen_factor,
                                                             out_indices=(0, 1, 2)))
    reference.eval()
    return reference


def save_as_mmpretrain_classifier(reference, path):
    """The layout of mmpretrain's released files: ``backbone.*`` and ``head.fc.*`` under ``state_dict``."""
    state = {f'backbone.{k}': v for k, v in reference.state_dict().items()}
    state.update({'head.fc.weight': torch.zeros(1000, 8), 'head.fc.bias': torch.zeros(1000)})
    torch.save({'meta': {'epoch': 240}, 'state_dict': state}, path)


@pytest.mark.parametrize('groups, widen_factor', VALID)
@torch.no_grad()
def test_mmpretrain_checkpoint_gives_mmpretrain_features(groups, widen_factor, tmp_path):
    reference = mmpretrain_reference(groups, widen_factor)
    save_as_mmpretrain_classifier(reference, tmp_path / 'mmpretrain.pth')
    model = build(groups, widen_factor, tmp_path / 'mmpretrain.pth', out_indices=(0, 1, 2, 3)).eval()
    x = torch.randn(1, 3, 38, 54)  # non-square; /32 is not an integer
    refs = [reference.maxpool(reference.conv1(x)), *reference(x)]
    assert_close(model(x), refs)
    assert model.out_channels == [r.shape[1] for r in refs]


@pytest.mark.parametrize('groups, widen_factor', sorted(INVALID))
def test_indivisible_widths_are_a_clear_error(groups, widen_factor):
    with pytest.raises(ValueError, match=rf'groups={groups} with widen_factor={widen_factor} gives \d+ channels in '
                                         rf'the stage2 .* which do not split into {groups} groups'):
        MODELS.build(dict(type='ShuffleNetV1', groups=groups, widen_factor=widen_factor))
    with pytest.raises(ValueError):  # not an architecture mmpretrain can build either
        MMPretrainShuffleNetV1(groups=groups, widen_factor=widen_factor)


# Reference complexity at 224x224 with the 1000-class linear classifier (bias-free, as in Megvii's code),
# multiply-adds of convs + classifier: computed with megvii-model/ShuffleNet-Series (shared/reference/backbones.md
# 7.1); the paper's Table 2 rounds them to 38 / 140 / 524 MFLOPs.
@pytest.mark.parametrize('groups, widen_factor, macs_ref, params_ref', [
    (3, 1.0, 137.5e6, 1.865e6),
    (8, 1.0, 138.4e6, 2.434e6),
    (3, 0.5, 37.6e6, 0.717e6),
    (3, 2.0, 524.0e6, 5.450e6),
])
def test_complexity_matches_the_references(groups, widen_factor, macs_ref, params_ref):
    model = build(groups, widen_factor).eval()
    classifier = model.level_channels[-1] * 1000
    macs = conv_macs(model, torch.randn(1, 3, 224, 224)) + classifier
    params = sum(p.numel() for p in model.parameters()) + classifier
    assert abs(macs / macs_ref - 1) < 0.01
    assert abs(params / params_ref - 1) < 0.01


def test_unit_structure_follows_the_paper():
    model = build(groups=3)
    first, second = model.stage2[0], model.stage2[1]
    assert first.g_conv_1x1_compress[0].groups == 1  # no group conv on the 24-channel stem output
    assert second.g_conv_1x1_compress[0].groups == 3 and model.stage3[0].g_conv_1x1_compress[0].groups == 3
    assert first.g_conv_1x1_expand[0].groups == 3 and first.g_conv_1x1_expand[0].out_channels == 240 - 24
    assert first.depthwise_conv3x3_bn[0].groups == 60 and first.depthwise_conv3x3_bn[0].stride == (2, 2)
    assert isinstance(first.avgpool, torch.nn.AvgPool2d) and second.avgpool is None
    assert isinstance(first.depthwise_conv3x3_bn[2], torch.nn.Identity)  # no ReLU after the depthwise conv
    outs = build(groups=3, out_indices=(0, 1, 2, 3)).eval()(torch.randn(1, 3, 128, 192))
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 32, 48), (240, 16, 24), (480, 8, 12), (960, 4, 6)]


@pytest.mark.parametrize('groups, widen_factor', [(3, 1.0), (8, 2.0)])
@torch.no_grad()
def test_deploy_form_is_equal_and_has_no_batch_norm(groups, widen_factor):
    reference = mmpretrain_reference(groups, widen_factor)
    model = build(groups, widen_factor)
    model.load_state_dict(model.convert_state_dict(reference.state_dict()))
    model.eval().switch_to_deploy()
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    x = torch.randn(2, 3, 38, 54)
    assert_close(model(x), reference(x))


def test_megvii_checkpoint_is_refused(tmp_path):
    megvii = {'first_conv.0.weight': torch.zeros(24, 3, 3, 3),
              'features.0.branch_main_1.0.weight': torch.zeros(60, 24, 1, 1),
              'classifier.0.weight': torch.zeros(1000, 960)}
    torch.save({'state_dict': {f'module.{k}': v for k, v in megvii.items()}}, tmp_path / 'megvii.pth.tar')
    with pytest.raises(CheckpointMismatchError, match='inverse order'):
        build(3, 1.0, tmp_path / 'megvii.pth.tar')


def test_checkpoint_of_other_groups_is_refused(tmp_path):
    save_as_mmpretrain_classifier(mmpretrain_reference(8, 1.0), tmp_path / 'g8.pth')
    model = MODELS.build(dict(type='ShuffleNetV1', groups=3,
                              init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'g8.pth'))))
    before = model.conv1[0].weight.clone()
    with pytest.raises(CheckpointMismatchError, match=r'(?s)shape mismatches.*groups=3'):
        model.init_weights()
    assert torch.equal(model.conv1[0].weight, before)  # nothing half-loaded


@pytest.mark.parametrize('kwargs, message', [
    (dict(groups=5), r'groups must be one of \[1, 2, 3, 4, 8\]'),
    (dict(widen_factor=0.0), 'widen_factor must be a positive number'),
    (dict(widen_factor=None), 'widen_factor must be a positive number'),
    (dict(out_indices=(4, )), r'out_indices must be unique, sorted integers in \[0, 3\]'),
    (dict(frozen_stages=5), r'frozen_stages must be in \[-1, 4\]'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(dict(type='ShuffleNetV1', **kwargs))
