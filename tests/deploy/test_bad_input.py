"""What cannot be exported, or run, says so clearly before any work and leaves nothing behind."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import ghostdet  # noqa: F401
from ghostdet.deploy import ExportError, ExportedDetector, MissingRuntimeError, export_detector

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
TREES = CONFIGS / 'trees' / 'rtmdet-pafpn64_ghostnet-1.0x_trees.py'


def assert_nothing_written(parent: Path):
    assert not any(parent.iterdir()), sorted(p.name for p in parent.iterdir())


@pytest.mark.parametrize('config,words', [
    ('ghostnet/faster-rcnn_ghostnet-1.0x_fpn_1x_coco.py', ('two-stage', 'RTMDet-lite', 'PyTorch backend')),
    ('distill/rtmdet-pafpn_ghostnet-1.3x-to-1.0x_pkd-kd_trees.py', ('export_student.py', )),
    ('trees/rtmdet-pafpn64_ghostnet-1.0x_trees.py', ('FCOSHead', 'RTMDetSepBNHead', 'PyTorch backend')),
])
def test_unexportable_configs_are_refused(config, words, tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    cfg = Config.fromfile(str(CONFIGS / config))
    if 'FCOSHead' in words:  # a head whose decoding (centerness score factors) is not written for export
        cfg.model.bbox_head = dict(type='FCOSHead', num_classes=1, in_channels=64)
    with pytest.raises(ExportError) as error:
        export_detector(cfg, None, out / 'export', shape=(64, 64))
    for word in words:
        assert word in str(error.value)
    assert_nothing_written(out)


def test_checkpoint_that_does_not_fit_is_refused(tmp_path):
    cfg = Config.fromfile(str(TREES))
    wrong = Config.fromfile(str(TREES))
    wrong.model.bbox_head.num_classes = 3  # a checkpoint of another detector: different classifier shape
    from mmengine.registry import init_default_scope

    from ghostdet.testing import build_without_pretrained
    init_default_scope('mmdet')
    torch.save({'state_dict': build_without_pretrained(wrong).state_dict()}, tmp_path / 'wrong.pth')
    out = tmp_path / 'out'
    out.mkdir()
    with pytest.raises(ExportError, match='does not fit'):
        export_detector(cfg, tmp_path / 'wrong.pth', out / 'export', shape=(64, 64))
    assert_nothing_written(out)


def test_existing_output_is_kept_unless_forced(tmp_path):
    cfg = Config.fromfile(str(TREES))
    out = tmp_path / 'export'
    out.mkdir()
    (out / 'mine.txt').write_text('user data')
    with pytest.raises(FileExistsError, match='--force'):
        export_detector(cfg, None, out, shape=(64, 64))
    assert (out / 'mine.txt').read_text() == 'user data'
    export_detector(cfg, None, out, shape=(64, 64), force=True)
    assert (out / 'deploy.json').is_file() and not (out / 'mine.txt').exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['export']  # no temporary or old folder left


def test_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    import ghostdet.deploy.export as export_module

    def broken(*args, **kwargs):
        raise RuntimeError('simulated exporter crash')
    monkeypatch.setattr(export_module, 'export_onnx', broken)
    with pytest.raises(RuntimeError, match='simulated'):
        export_detector(Config.fromfile(str(TREES)), None, tmp_path / 'export', shape=(64, 64))
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize('options,match', [
    (dict(backend='onnxruntime', precision='bf16'), 'OpenVINO only'),
    (dict(shape=(60, 64)), 'multiples'),
])
def test_bad_options(options, match, tmp_path):
    with pytest.raises(ExportError, match=match):
        export_detector(Config.fromfile(str(TREES)), None, tmp_path / 'export', **options)
    assert_nothing_written(tmp_path)


def test_missing_runtime_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'openvino', None)  # import openvino -> ImportError
    with pytest.raises(MissingRuntimeError, match=r'\.\[deploy\]'):
        export_detector(Config.fromfile(str(TREES)), None, tmp_path / 'export', shape=(64, 64), backend='openvino')
    assert_nothing_written(tmp_path)
    out = export_detector(Config.fromfile(str(TREES)), None, tmp_path / 'export', shape=(64, 64))
    with pytest.raises(MissingRuntimeError, match=r'openvino.*\.\[deploy\]'):
        ExportedDetector(out, backend='openvino')


def test_not_an_export_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='export.py'):
        ExportedDetector(tmp_path)


def test_import_ghostdet_needs_no_runtime_package():
    runtimes = ('onnx', 'onnxruntime', 'onnxscript', 'openvino', 'ncnn', 'pnnx')
    code = f'import sys, ghostdet, ghostdet.inference; print(sorted(m for m in {runtimes} if m in sys.modules))'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == '[]'
