"""What every backbone family shares (LightweightBackbone): the fused form built directly, out_indices types, a file
that is not a checkpoint."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

import ghostdet  # noqa: F401
from ghostdet.checkpoint import CheckpointMismatchError
from ghostdet.engine.safe_load import NotACheckpointError

from ghostdet.testing import assert_close, randomise_batch_norms

FAMILIES = {  # small widths; every level returned
    'GhostNet': dict(type='GhostNet', widen_factor=0.5, out_indices=tuple(range(10))),
    'GhostNetV2': dict(type='GhostNetV2', widen_factor=0.5, out_indices=tuple(range(10))),
    'GhostNetV3': dict(type='GhostNetV3', widen_factor=0.5, out_indices=tuple(range(10))),
    'ShuffleNetV1': dict(type='ShuffleNetV1', groups=3, widen_factor=0.5, out_indices=(0, 1, 2, 3)),
    'ShuffleNetV2': dict(type='ShuffleNetV2', widen_factor=0.5, out_indices=(0, 1, 2, 3, 4)),
}


def build(family, **kwargs):
    return MODELS.build({**FAMILIES[family], **kwargs})


@pytest.mark.parametrize('family', sorted(FAMILIES))
@torch.no_grad()
def test_deploy_argument_builds_the_fused_form_that_loads_a_converted_checkpoint(family, tmp_path):
    trained = randomise_batch_norms(build(family), seed=1).eval()
    torch.save(copy.deepcopy(trained).switch_to_deploy().state_dict(), tmp_path / 'fused.pth')
    direct = build(family, deploy=True, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'fused.pth')))
    assert direct.deploy and direct.training  # built in the inference form, in training mode like any module
    assert not any(isinstance(m, _BatchNorm) for m in direct.modules())
    direct.init_weights()  # strict: every weight of the fused form is covered
    x = torch.randn(1, 3, 64, 80)
    assert_close(direct.eval()(x), trained(x))

    torch.save(trained.state_dict(), tmp_path / 'train.pth')  # the training form does not fit the fused one
    training_form = build(family, deploy=True,
                          init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'train.pth')))
    with pytest.raises(CheckpointMismatchError, match='nothing was loaded'):
        training_form.init_weights()


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_a_single_int_selects_one_level(family):
    model = build(family, out_indices=2)
    assert model.out_indices == (2, )
    assert model.out_channels == [build(family).level_channels[2]]
    assert len(model.eval()(torch.randn(1, 3, 64, 64))) == 1


@pytest.mark.parametrize('family', sorted(FAMILIES))
@pytest.mark.parametrize('out_indices', [(2.0, ), 2.0, '2', True, (1, None), {1: 2}])
def test_out_indices_of_another_type_is_a_clear_error(family, out_indices):
    with pytest.raises(TypeError, match=r'out_indices must be an int or a sequence of ints \(level indices, e.g.'):
        build(family, out_indices=out_indices)


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_deploy_must_be_a_bool(family):
    with pytest.raises(TypeError, match="deploy must be True or False, got 'yes'"):
        build(family, deploy='yes')


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_a_text_file_as_pretrained_checkpoint_is_named(family, tmp_path):
    (tmp_path / 'weights.pth').write_text('https://example.com/ghostnet.pth\n')
    model = build(family, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'weights.pth')))
    with pytest.raises(NotACheckpointError, match=r'weights.pth.* is not a PyTorch checkpoint'):
        model.init_weights()


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_non_strict_detector_loading_refuses_the_other_form(family, tmp_path):
    """mmengine's load_checkpoint(strict=False), as tools/test.py and load_from use it, must not half-load."""
    from mmengine.runner import load_checkpoint

    class Detector(torch.nn.Module):
        def __init__(self, **kwargs):
            super().__init__()
            self.backbone = build(family, **kwargs)
            self.head = torch.nn.Conv2d(1, 1, 1)

    training, fused = Detector(), Detector(deploy=True)
    for name, source in (('training', training), ('fused', fused)):
        torch.save({'state_dict': source.state_dict()}, tmp_path / f'{name}.pth')
    torch.save({'state_dict': {'head.weight': training.head.weight}}, tmp_path / 'head_only.pth')

    with pytest.raises(CheckpointMismatchError, match=r'(?s)training form.*unexpected keys.*deploy=True'):
        load_checkpoint(Detector(), str(tmp_path / 'fused.pth'), strict=False)
    with pytest.raises(CheckpointMismatchError, match=r'(?s)inference form.*missing keys.*without deploy=True'):
        load_checkpoint(Detector(deploy=True), str(tmp_path / 'training.pth'), strict=False)
    model = Detector()
    load_checkpoint(model, str(tmp_path / 'training.pth'), strict=False)  # the same form loads
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), training.state_dict().values()))
    load_checkpoint(Detector(), str(tmp_path / 'head_only.pth'), strict=False)  # no backbone keys: left alone


FROZEN_LAYOUT = {  # family -> (stem modules, levels in order), by their checkpoint names
    'GhostNet': (('conv_stem', 'bn1'), lambda m: list(m.blocks)),
    'GhostNetV2': (('conv_stem', 'bn1'), lambda m: list(m.blocks)),
    'GhostNetV3': (('conv_stem', 'bn1'), lambda m: list(m.blocks)),
    'ShuffleNetV1': (('conv1', ), lambda m: [m.maxpool, m.stage2, m.stage3, m.stage4]),
    'ShuffleNetV2': (('conv1', ), lambda m: [m.maxpool, m.stage2, m.stage3, m.stage4, m.conv5]),
}


@pytest.mark.parametrize('family', sorted(FAMILIES))
@pytest.mark.parametrize('frozen_stages', [0, 2])
def test_frozen_stages_and_norm_eval(family, frozen_stages):
    model = build(family, frozen_stages=frozen_stages, norm_eval=True).train()
    stem_names, levels = FROZEN_LAYOUT[family]
    frozen = [getattr(model, name) for name in stem_names] + levels(model)[:frozen_stages]
    trainable = levels(model)[frozen_stages:]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in trainable for p in m.parameters())
    assert all(not m.training for m in frozen) and all(m.training for m in trainable)
    batch_norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert batch_norms and all(not bn.training for bn in batch_norms)  # norm_eval, re-applied by train()
    stats = [bn.running_mean.clone() for bn in batch_norms]
    model(torch.randn(2, 3, 64, 64))
    assert all(torch.equal(s, bn.running_mean) for s, bn in zip(stats, batch_norms))
