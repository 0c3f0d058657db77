"""tools/deployment/export.py and test.py as users run them (subprocesses), on a checkpoint written by
tools/train.py: the exported model's detections and metrics equal tools/test.py's on the same checkpoint."""
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.structures import InstanceData
from torchvision.ops import box_iou

REPO = Path(__file__).resolve().parents[2]
# A 4-iteration model scores every box about equally: keeping all of them avoids cutting between ties.
NO_TRUNCATION = ('model.test_cfg.max_per_img=1000', )


def run(*args, ok=True):
    result = subprocess.run([sys.executable, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) == ok, output[-4000:]
    return output


def metrics(output: str) -> dict:
    return {k: float(v) for k, v in re.findall(r'(coco/bbox_\w+): (-?[\d.]+)', output)}


def detections(path: Path):
    with open(path, 'rb') as f:
        return {r['img_id']: r['pred_instances'] for r in pickle.load(f)}


def assert_same(ours: dict, ref: dict):
    """Box for box on every image: IoU >= 0.99, same label, scores within 1e-4 (the scores tie-break the order)."""
    assert ours.keys() == ref.keys()
    for img_id in ref:
        a, b = ours[img_id], ref[img_id]
        assert len(a['scores']) == len(b['scores']), img_id
        if not len(b['scores']):
            continue
        iou = box_iou(a['bboxes'], b['bboxes'])
        match = (iou >= 0.99) & (a['labels'][:, None] == b['labels'][None]) & \
            ((a['scores'][:, None] - b['scores'][None]).abs() <= 1e-4)
        assert match.any(0).all(), f'image {img_id}: {int((~match.any(0)).sum())} PyTorch boxes unmatched'


@pytest.fixture(scope='module')
def trained(tmp_path_factory, synthetic_coco, make_tiny_config):
    root = tmp_path_factory.mktemp('deploy_tool')
    config = make_tiny_config(root / 'tiny.py', synthetic_coco, max_iters=4)
    run(REPO / 'tools' / 'train.py', config, '--work-dir', root / 'work')
    checkpoint = (root / 'work' / 'last_checkpoint').read_text().strip()
    reference = run(REPO / 'tools' / 'test.py', config, checkpoint, '--work-dir', root / 'test',
                    '--out', root / 'pytorch.pkl', '--cfg-options', *NO_TRUNCATION)
    return root, config, checkpoint, metrics(reference), detections(root / 'pytorch.pkl')


def test_export_then_test_equals_tools_test(trained):
    root, config, checkpoint, ref_metrics, ref_dets = trained
    assert ref_metrics, 'tools/test.py printed no coco/bbox_* metrics'
    out = root / 'export'
    run(REPO / 'tools' / 'deployment' / 'export.py', config, checkpoint, '--out-dir', out, '--shape', 96, 128,
        '--backend', 'openvino', '--cfg-options', *NO_TRUNCATION)
    for backend in ('onnxruntime', 'openvino'):
        output = run(REPO / 'tools' / 'deployment' / 'test.py', config, out, '--backend', backend,
                     '--work-dir', root / f'test_{backend}', '--out', root / f'{backend}.pkl',
                     '--cfg-options', *NO_TRUNCATION)
        assert metrics(output) == pytest.approx(ref_metrics, abs=1e-3)
        assert_same(detections(root / f'{backend}.pkl'), ref_dets)


def test_export_tool_refuses_an_existing_folder(trained, tmp_path):
    _, config, checkpoint, _, _ = trained
    (tmp_path / 'taken').mkdir()
    output = run(REPO / 'tools' / 'deployment' / 'export.py', config, checkpoint, '--out-dir', tmp_path / 'taken',
                 ok=False)
    assert 'exists' in output and '--force' in output
    assert not any((tmp_path / 'taken').iterdir())
