"""The deploy converter, for every backbone family: the converted detector computes what the trained one does, the
written config builds the fused backbone and loads the converted checkpoint strictly, and a checkpoint that does not
fit the config is refused with nothing written."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint, save_checkpoint
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from torch.nn.modules.batchnorm import _BatchNorm

import ghostdet  # noqa: F401
from ghostdet.checkpoint import CheckpointMismatchError
from ghostdet.models import convert_to_deploy

from ghostdet.testing import randomise_batch_norms

REPO = Path(__file__).resolve().parents[2]
BACKBONES = {
    'GhostNet': dict(type='GhostNet', widen_factor=0.5, out_indices=(4, 6, 9)),
    'GhostNetV2': dict(type='GhostNetV2', widen_factor=0.5, out_indices=(4, 6, 9)),
    'GhostNetV3': dict(type='GhostNetV3', widen_factor=0.5, out_indices=(4, 6, 9)),
    'ShuffleNetV1': dict(type='ShuffleNetV1', groups=3, widen_factor=0.5),
    'ShuffleNetV2': dict(type='ShuffleNetV2', widen_factor=0.5),
}


def detector_config(tiny_config: Path, family: str, path: Path) -> Path:
    """The tiny tree detector with ``family``'s backbone (the neck takes its channels)."""
    register_all_modules()
    config = Config.fromfile(str(tiny_config))
    config.model.backbone = BACKBONES[family]
    config.model.neck.in_channels = MODELS.build(BACKBONES[family]).out_channels
    config.dump(str(path))
    return path


def trained_checkpoint(config: Path, path: Path, seed: int = 0) -> torch.nn.Module:
    """A detector of ``config`` with random BN statistics (so folding is exercised), saved as mmengine does."""
    torch.manual_seed(seed)
    model = randomise_batch_norms(MODELS.build(Config.fromfile(str(config)).model), seed=seed).eval()
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {'iter': 2}}, str(path))
    return model


@pytest.mark.parametrize('family', sorted(BACKBONES))
@torch.no_grad()
def test_converted_detector_equals_the_trained_one(family, tiny_config, tmp_path):
    config = detector_config(tiny_config, family, tmp_path / 'train.py')
    trained = trained_checkpoint(config, tmp_path / 'train.pth')
    convert_to_deploy(str(config), str(tmp_path / 'train.pth'), str(tmp_path / 'fused.pth'),
                      str(tmp_path / 'deploy.py'))

    deploy_config = Config.fromfile(str(tmp_path / 'deploy.py'))
    assert deploy_config.model.backbone.deploy is True
    fused = MODELS.build(deploy_config.model).eval()
    load_checkpoint(fused, str(tmp_path / 'fused.pth'), map_location='cpu', strict=True)
    assert not any(isinstance(m, _BatchNorm) for m in fused.backbone.modules())
    assert any(isinstance(m, _BatchNorm) for m in trained.backbone.modules())
    x = torch.randn(2, 3, 96, 128)
    for before, after in zip(trained._forward(x), fused._forward(x)):
        for b, a in zip(before, after):
            assert (a - b).abs().max() <= 1e-4 * b.abs().max()


def test_checkpoint_of_another_backbone_is_refused_and_nothing_written(tiny_config, tmp_path):
    ghostnet = detector_config(tiny_config, 'GhostNet', tmp_path / 'ghostnet.py')
    shufflenet = detector_config(tiny_config, 'ShuffleNetV2', tmp_path / 'shufflenet.py')
    trained_checkpoint(ghostnet, tmp_path / 'ghostnet.pth')
    with pytest.raises(CheckpointMismatchError, match=r'(?s)does not fit the model.*missing keys.*trained with'):
        convert_to_deploy(str(shufflenet), str(tmp_path / 'ghostnet.pth'), str(tmp_path / 'fused.pth'),
                          str(tmp_path / 'deploy.py'))
    assert not (tmp_path / 'fused.pth').exists() and not (tmp_path / 'deploy.py').exists()


def test_a_converted_checkpoint_is_not_converted_again(tiny_config, tmp_path):
    config = detector_config(tiny_config, 'GhostNetV3', tmp_path / 'train.py')
    trained_checkpoint(config, tmp_path / 'train.pth')
    convert_to_deploy(str(config), str(tmp_path / 'train.pth'), str(tmp_path / 'fused.pth'),
                      str(tmp_path / 'deploy.py'))
    with pytest.raises(ValueError, match='already builds the backbone in the inference form'):
        convert_to_deploy(str(tmp_path / 'deploy.py'), str(tmp_path / 'fused.pth'), str(tmp_path / 'again.pth'))
    with pytest.raises(CheckpointMismatchError, match='unexpected keys'):  # fused weights, training config
        convert_to_deploy(str(config), str(tmp_path / 'fused.pth'), str(tmp_path / 'again.pth'))
    assert not (tmp_path / 'again.pth').exists()


def test_other_backbones_are_refused(tmp_path):
    (tmp_path / 'resnet.py').write_text("_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'")
    with pytest.raises(ValueError, match="model.backbone is 'ResNet', not a ghostdet backbone"):
        convert_to_deploy(str(tmp_path / 'resnet.py'), 'unused.pth', str(tmp_path / 'fused.pth'))


def run_tool(*args):
    return subprocess.run([sys.executable, str(REPO / 'tools/model_converters/convert_to_deploy.py'), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO)


def test_tool_refuses_to_overwrite_and_a_foreign_checkpoint(tiny_config, tmp_path):
    config = detector_config(tiny_config, 'ShuffleNetV2', tmp_path / 'train.py')
    trained_checkpoint(config, tmp_path / 'train.pth')
    (tmp_path / 'fused.pth').write_text('keep me')
    result = run_tool(config, tmp_path / 'train.pth', tmp_path / 'fused.pth')
    assert result.returncode != 0 and 'fused.pth already exist(s)' in result.stderr and '--force' in result.stderr
    assert (tmp_path / 'fused.pth').read_text() == 'keep me'

    foreign = detector_config(tiny_config, 'ShuffleNetV1', tmp_path / 'foreign.py')
    result = run_tool(foreign, tmp_path / 'train.pth', tmp_path / 'out.pth', '--out-config', tmp_path / 'out.py')
    assert result.returncode != 0 and 'does not fit the model; nothing was loaded' in result.stderr
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'out.pth').exists() and not (tmp_path / 'out.py').exists()

    result = run_tool(config, tmp_path / 'train.pth', tmp_path / 'fused.pth', '--force')
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'model.backbone.deploy=True' in result.stdout
    fused = torch.load(tmp_path / 'fused.pth', weights_only=True)['state_dict']
    assert 'conv1.0.bias' in [k[len('backbone.'):] for k in fused if k.startswith('backbone.')]
