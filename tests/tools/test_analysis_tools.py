"""get_flops.py, benchmark.py, model_zoo.py and benchmark_backbones.py: dataset-free complexity and latency of
detector configs and backbones."""
import argparse
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.runner import save_checkpoint

import ghostdet  # noqa: F401
from ghostdet.analysis import build_detector, complexity_by_part, config_input_shape, latency_summary, load_config
from ghostdet.analysis.backbone_speed import backbone_speed_table
from ghostdet.cli import add_timing_arguments
from ghostdet.testing import conv_macs

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'


def run_tool(name, *args):
    result = subprocess.run([sys.executable, str(REPO / 'tools/analysis_tools' / name), *map(str, args)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def parts_at_224(config, deploy=True):
    model = build_detector(load_config(str(CONFIGS / config)), deploy=deploy)
    return model, complexity_by_part(model, (224, 224))


def test_backbone_flops_match_the_reference_count():
    """GhostNet 1.0x stem..blocks.9 is 138.6 M multiply-adds at 224x224 (timm's model counted over Conv2d/Linear,
    shared/reference/backbones.md 1.4); the count also agrees with forward hooks on every conv."""
    model, parts = parts_at_224('ghostnet/retinanet_ghostnet-1.0x_fpn_1x_coco.py')
    assert parts['backbone']['flops'] == pytest.approx(138.6e6, rel=0.01)
    with torch.no_grad():
        hooks = conv_macs(model.backbone, torch.randn(1, 3, 224, 224))
    assert parts['backbone']['flops'] == pytest.approx(hooks, rel=0.01)
    assert sum(v['params'] for k, v in parts.items() if k != 'total') == parts['total']['params']
    assert parts['total']['flops'] >= parts['backbone']['flops'] + parts['neck']['flops'] + parts['bbox_head']['flops']


def test_ghostnetv3_is_counted_fused():
    """GhostNetV3's inference form is GhostNetV2's architecture (164.5 M backbone multiply-adds at 224x224,
    backbones.md 1.4); the training form with its re-parameterisable branches is far larger."""
    _, fused = parts_at_224('ghostnetv3/yolov3_ghostnetv3-1.0x_8xb24-320-300e_coco.py')
    _, v2 = parts_at_224('ghostnetv2/yolov3_ghostnetv2-1.0x_8xb24-320-300e_coco.py')
    _, train_form = parts_at_224('ghostnetv3/yolov3_ghostnetv3-1.0x_8xb24-320-300e_coco.py', deploy=False)
    assert fused['backbone']['flops'] == pytest.approx(164.5e6, rel=0.01)
    assert fused['backbone']['flops'] == pytest.approx(v2['backbone']['flops'], rel=1e-3)
    assert train_form['backbone']['flops'] > 2 * fused['backbone']['flops']


@pytest.mark.parametrize('config, shape', [
    ('ghostnet/retinanet_ghostnet-1.0x_fpn_1x_coco.py', (800, 1333)),
    ('ghostnet/yolov3_ghostnet-1.0x_8xb24-ms-416-300e_coco.py', (416, 416)),
    ('shufflenetv2/rtmdet-lite_shufflenetv2-1.0x_8xb32-320-300e_coco.py', (320, 320))])
def test_config_input_shape(config, shape):
    assert config_input_shape(load_config(str(CONFIGS / config))) == shape


def test_latency_summary():
    times = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
    stats = latency_summary(times)
    assert stats['median_ms'] == 3.5 and stats['p90_ms'] == pytest.approx(np.percentile(times, 90))
    assert stats['fps'] == pytest.approx(1000 / 3.5)


def test_get_flops_cli():
    out = run_tool('get_flops.py', CONFIGS / 'ghostnet/faster-rcnn_ghostnet-1.0x_fpn_1x_coco.py', '--shape', 64, 96)
    assert 'input 1x3x64x96 (inference form)' in out
    rows = dict(re.findall(r'^\| (\w+) \| [\d.]+ \| ([\d.]+) \|$', out, re.M))
    assert set(rows) == {'backbone', 'neck', 'rpn_head', 'roi_head', 'total'}
    assert float(rows['total']) == pytest.approx(sum(float(v) for k, v in rows.items() if k != 'total'), abs=2e-3)


def test_benchmark_cli_with_checkpoint(tmp_path):
    config = CONFIGS / 'shufflenetv2/rtmdet-lite_shufflenetv2-1.0x_8xb32-320-300e_coco.py'
    model = build_detector(load_config(str(config)), deploy=False)
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, str(tmp_path / 'detector.pth'))
    out = run_tool('benchmark.py', config, tmp_path / 'detector.pth', '--shape', 64, 64, '--repeats', 3, '--warmup',
                   1, '--fuse-conv-bn', '--mode', 'predict', '--threads', 1)
    assert 'input 1x3x64x64, cpu, 1 threads, inference form, mode=predict, 3 runs after 1 warm-up' in out
    median, p90, fps = map(float, re.search(r'median ([\d.]+) ms/img, p90 ([\d.]+) ms/img, ([\d.]+) FPS', out).groups())
    assert 0 < median <= p90 and fps == pytest.approx(1000 / median, rel=0.02)


def test_benchmark_refuses_cuda_without_a_device():
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is present')
    result = subprocess.run([sys.executable, str(REPO / 'tools/analysis_tools/benchmark.py'),
                             str(CONFIGS / 'ghostnet/ssdlite_ghostnet-1.0x_8xb24-600e_coco.py'), '--device', 'cuda'],
                            capture_output=True, text=True)
    assert result.returncode == 2 and 'torch sees no CUDA device' in result.stderr


def test_model_zoo_rows():
    out = run_tool('model_zoo.py', '--filter', 'mmdet::ssd', 'ghostnet/ssdlite', '--repeats', 1, '--warmup', 0,
                   '--threads', 1)
    rows = [line for line in out.splitlines() if line.startswith('| ') and 'config' not in line]
    assert [row.split(' | ')[0] for row in rows] == ['| mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py',
                                                     '| ghostnet/ssdlite_ghostnet-1.0x_8xb24-600e_coco.py']
    assert rows[0].endswith('| 21.3 [2] |') and rows[1].endswith('| – |')
    assert '[2] mmdet 3.3.0 model zoo' in out


def test_backbone_speed_rows_against_their_reference():
    lines = list(backbone_speed_table(shape=(64, 64), repeats=1, warmup=0, only='ShuffleNetV1'))
    assert 'input 1x3x64x64' in lines[0] and 'torch threads' in lines[0]
    (row, ) = [line for line in lines[2:]]
    name, ours, reference, ratio = re.fullmatch(r'\| (.+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|', row).groups()
    assert name == 'ShuffleNetV1 1.0x g3'
    assert float(ours) > 0 and float(reference) > 0 and float(ratio) > 0
    with pytest.raises(ValueError, match='no row name contains'):
        next(backbone_speed_table(only='ResNet'))


def test_timing_arguments_are_checked():
    parser = argparse.ArgumentParser()
    add_timing_arguments(parser, repeats=5, warmup=2)
    assert vars(parser.parse_args([])) == dict(repeats=5, warmup=2, threads=None)
    for bad in (['--repeats', '0'], ['--warmup', '-1'], ['--threads', '0']):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
