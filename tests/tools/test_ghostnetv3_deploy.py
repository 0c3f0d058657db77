"""The converter fuses a whole trained detector; the fused checkpoint in the deploy=True config gives the same
detections."""
import subprocess
import sys
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint, save_checkpoint
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

import ghostdet  # noqa: F401

from reference_utils import randomise_batch_norms

REPO = Path(__file__).resolve().parents[2]


def test_fused_detector_gives_the_same_outputs(tmp_path, tiny_config):
    register_all_modules()
    config = Config.fromfile(str(tiny_config))
    config.model.backbone.type = 'GhostNetV3'
    config.dump(str(tmp_path / 'v3.py'))
    model = randomise_batch_norms(MODELS.build(config.model)).eval()
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, str(tmp_path / 'train.pth'))

    result = subprocess.run([sys.executable, str(REPO / 'tools/model_converters/ghostnetv3_deploy.py'),
                             str(tmp_path / 'v3.py'), str(tmp_path / 'train.pth'), str(tmp_path / 'fused.pth'),
                             '--out-config', str(tmp_path / 'v3_deploy.py')], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]

    deploy_config = Config.fromfile(str(tmp_path / 'v3_deploy.py'))
    assert deploy_config.model.backbone.deploy is True
    fused = MODELS.build(deploy_config.model).eval()
    load_checkpoint(fused, str(tmp_path / 'fused.pth'), map_location='cpu', strict=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.backbone.modules())
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        for before, after in zip(model._forward(x), fused._forward(x)):
            for a, b in zip(after, before):
                assert (a - b).abs().max() <= 1e-4 * b.abs().max()
