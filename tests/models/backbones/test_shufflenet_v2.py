"""ShuffleNetV2 against torchvision 0.29 and mmpretrain 1.2 as the independent references."""
import pytest
import torch
import torchvision
from mmdet.registry import MODELS
from mmpretrain.models.backbones import ShuffleNetV2 as MMPretrainShuffleNetV2

import ghostdet  # noqa: F401
from ghostdet.checkpoint import CheckpointMismatchError
from ghostdet.testing import assert_close, randomise_batch_norms

TORCHVISION = {0.5: torchvision.models.shufflenet_v2_x0_5, 1.0: torchvision.models.shufflenet_v2_x1_0,
               1.5: torchvision.models.shufflenet_v2_x1_5, 2.0: torchvision.models.shufflenet_v2_x2_0}
ALL_LEVELS = (0, 1, 2, 3, 4)


def torchvision_levels(model, x):
    """The five levels read off torchvision's modules: after maxpool, stage2, stage3, stage4, conv5."""
    outs = [model.maxpool(model.conv1(x))]
    for module in (model.stage2, model.stage3, model.stage4, model.conv5):
        outs.append(module(outs[-1]))
    return outs


def build(widen_factor=1.0, checkpoint=None, **kwargs):
    init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint)) if checkpoint else None
    model = MODELS.build(dict(type='ShuffleNetV2', widen_factor=widen_factor, init_cfg=init_cfg, **kwargs))
    model.init_weights()
    return model


@pytest.fixture(scope='module', params=sorted(TORCHVISION))
def pair(request, tmp_path_factory):
    """(width, torchvision model with random BN statistics, ghostdet model loaded from its state dict file)."""
    torch.manual_seed(0)
    reference = randomise_batch_norms(TORCHVISION[request.param]()).eval()
    path = tmp_path_factory.mktemp('ckpt') / 'torchvision.pth'
    torch.save(reference.state_dict(), path)  # with fc.weight / fc.bias, dropped on load
    return request.param, reference, build(request.param, path, out_indices=ALL_LEVELS).eval()


@torch.no_grad()
def test_equal_to_torchvision_at_every_level(pair):
    _, reference, model = pair
    x = torch.randn(1, 3, 97, 131)  # non-square, odd
    refs = torchvision_levels(reference, x)
    assert_close(model(x), refs)
    assert model.out_channels == [r.shape[1] for r in refs]


@torch.no_grad()
def test_deploy_form_is_equal_and_has_no_batch_norm(pair):
    width, reference, _ = pair
    model = MODELS.build(dict(type='ShuffleNetV2', widen_factor=width, out_indices=ALL_LEVELS))
    model.load_state_dict({k: v for k, v in reference.state_dict().items() if not k.startswith('fc.')})
    model.eval().switch_to_deploy()
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    x = torch.randn(2, 3, 64, 96)
    outs = model(x)
    assert_close(outs, torchvision_levels(reference, x))
    assert all(o.is_contiguous(memory_format=torch.channels_last) for o in outs)


def test_levels_strides_and_channels():
    model = build(out_indices=ALL_LEVELS).eval()
    outs = model(torch.randn(1, 3, 128, 192))
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 32, 48), (116, 16, 24), (232, 8, 12), (464, 4, 6),
                                                  (1024, 4, 6)]
    assert build().out_indices == (1, 2, 3) and build().out_channels == [116, 232, 464]
    assert build(2.0, out_indices=(0, 4)).out_channels == [24, 2048]


@pytest.mark.parametrize('width', sorted(TORCHVISION))
def test_parameters_are_torchvision_without_fc(width):
    reference = TORCHVISION[width]()
    model = build(width)
    expected = {k: v.shape for k, v in reference.state_dict().items() if not k.startswith('fc.')}
    assert {k: v.shape for k, v in model.state_dict().items()} == expected


@pytest.mark.parametrize('width', [0.5, 1.0])
@torch.no_grad()
def test_mmpretrain_checkpoint_loads_and_gives_its_features(width, tmp_path):
    torch.manual_seed(0)
    reference = randomise_batch_norms(MMPretrainShuffleNetV2(widen_factor=width, out_indices=(0, 1, 2, 3)))
    reference.eval()
    state = {f'backbone.{k}': v for k, v in reference.state_dict().items()}
    state.update({'head.fc.weight': torch.zeros(1000, 1024), 'head.fc.bias': torch.zeros(1000)})
    torch.save({'meta': {'epoch': 300}, 'state_dict': state}, tmp_path / 'mmpretrain.pth')
    model = build(width, tmp_path / 'mmpretrain.pth', out_indices=(1, 2, 3, 4)).eval()
    x = torch.randn(1, 3, 70, 90)
    assert_close(model(x), reference(x))


def test_incomplete_or_foreign_checkpoints_are_refused(tmp_path):
    state = TORCHVISION[1.0]().state_dict()
    torch.save({k: v for k, v in state.items() if k != 'stage3.2.branch2.5.weight'}, tmp_path / 'missing.pth')
    model = MODELS.build(dict(type='ShuffleNetV2', init_cfg=dict(type='Pretrained',
                                                                 checkpoint=str(tmp_path / 'missing.pth'))))
    before = model.conv1[0].weight.clone()
    with pytest.raises(CheckpointMismatchError, match=r'(?s)1 missing keys: stage3.2.branch2.5.weight'):
        model.init_weights()
    assert torch.equal(model.conv1[0].weight, before)  # nothing half-loaded

    torch.save(state, tmp_path / 'x1.pth')
    with pytest.raises(CheckpointMismatchError, match=r'(?s)shape mismatches.*shufflenet_v2_x0.5'):
        build(0.5, tmp_path / 'x1.pth')

    megvii = {'first_conv.0.weight': torch.zeros(24, 3, 3, 3), 'features.0.branch_main.0.weight': torch.zeros(1),
              'conv_last.0.weight': torch.zeros(1024, 464, 1, 1)}
    torch.save({'state_dict': megvii}, tmp_path / 'megvii.pth.tar')
    with pytest.raises(CheckpointMismatchError, match='megvii-model/ShuffleNet-Series'):
        build(1.0, tmp_path / 'megvii.pth.tar')


@pytest.mark.parametrize('kwargs, message', [
    (dict(widen_factor=0.75), r'widen_factor must be one of \[0.5, 1.0, 1.5, 2.0\]'),
    (dict(widen_factor='1.0'), 'widen_factor must be one of'),
    (dict(out_indices=(5, )), r'out_indices must be unique, sorted integers in \[0, 4\]'),
    (dict(out_indices=(2, 1)), r'in \[0, 4\]'),
    (dict(frozen_stages=6), r'frozen_stages must be in \[-1, 5\]'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(dict(type='ShuffleNetV2', **kwargs))
