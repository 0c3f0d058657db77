"""tools/analysis_tools/eval_small_objects.py as users run it: a separate process, json and pickle results."""
import json
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from ghostdet.evaluation import evaluate_result_files
from ghostdet.testing.coco import pycocotools_eval, random_coco_problem

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, 'tools', 'analysis_tools', 'eval_small_objects.py')
STANDARD = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl']


def run_tool(*args, probe=False):
    """The tool in a fresh interpreter; with ``probe``, it also prints whether torch / mmdet were imported."""
    code = ('import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__"); '
            'print("IMPORTED", "torch" in sys.modules, "mmdet" in sys.modules)') if probe else None
    cmd = [sys.executable, '-c', code, TOOL, *args] if probe else [sys.executable, TOOL, *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)


@pytest.fixture
def files(tmp_path):
    gt_dict, dets = random_coco_problem(11)
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(gt_dict))
    res = tmp_path / 'model_a.bbox.json'
    res.write_text(json.dumps(dets))
    return gt_dict, dets, str(ann), str(res)


def test_json_results_as_a_process_without_torch_or_mmdet(files, tmp_path):
    gt_dict, dets, ann, res = files
    out = tmp_path / 'out'
    proc = run_tool(ann, res, '--out-dir', str(out), '--classwise', '--error-analysis', probe=True)
    assert proc.returncode == 0, proc.stderr
    assert 'IMPORTED False False' in proc.stdout and 'TIDE errors per object size' in proc.stdout
    summary = json.loads((out / 'summary.json').read_text())
    np.testing.assert_allclose([summary[k] for k in STANDARD], pycocotools_eval(gt_dict, dets).stats, rtol=0,
                               atol=1e-12)
    aitod = pycocotools_eval(gt_dict, dets, area_ranges={'vt': (0, 64), 't': (64, 256)}, max_dets=[1, 10, 100, 1500])
    tiny = aitod.eval['precision'][0, :, :, 1, 3]
    assert summary['AP50_tiny'] == pytest.approx(tiny[tiny > -1].mean(), abs=1e-12)
    assert summary['TIDE_Miss_tiny'] >= 0 and len(summary['confusion_matrix']['matrix']) == 6
    for png in ('ap_recall_vs_size.png', 'tide_errors.png', 'confusion_matrix.png'):
        assert (out / png).stat().st_size > 10000, png
    assert set(json.loads((out / 'classwise.json').read_text())) == {'all', 'verytiny', 'tiny', 'small', 'medium'}


def test_pickle_payload_refused_by_the_tool_without_running(files, tmp_path):
    *_, ann, _ = files
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pkl'
    # protocol 0 by hand: GLOBAL posix system, then call it with the shell command
    evil.write_bytes(f'cposix\nsystem\n(Vtouch {marker}\ntR.'.encode())
    proc = run_tool(ann, str(evil))
    assert proc.returncode != 0 and 'refused to load posix.system' in proc.stderr
    assert not marker.exists()


def test_pickle_from_test_py_gives_the_json_numbers(files, tmp_path):
    gt_dict, dets, ann, res = files
    cat_index = {c['id']: i for i, c in enumerate(gt_dict['categories'])}
    samples = []
    for img in gt_dict['images']:
        mine = [d for d in dets if d['image_id'] == img['id']]
        boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in (d['bbox'] for d in mine)],
                             dtype=torch.float64).reshape(-1, 4)
        samples.append(dict(img_id=img['id'], ori_shape=(480, 640), pred_instances=dict(
            bboxes=boxes, scores=torch.tensor([d['score'] for d in mine], dtype=torch.float64),
            labels=torch.tensor([cat_index[d['category_id']] for d in mine]))))
    pkl = tmp_path / 'model_b.pkl'
    pkl.write_bytes(pickle.dumps(samples))
    out = tmp_path / 'two'
    both = evaluate_result_files(ann, [res, str(pkl)], labels=['json', 'pickle'], out_dir=str(out),
                                 area_ranges={'tiny': [0, 256], 'rest': [256, 1e10]})
    for key, value in both['json'].items():
        assert both['pickle'][key] == pytest.approx(value, abs=1e-9), key
    assert set(json.loads((out / 'summary.json').read_text())) == {'json', 'pickle'}


@pytest.mark.parametrize('args, message', [
    (['{res}', '{res}'], 'did you swap'),
    (['{ann}', '{res}', '--area-ranges', 'huge'], 'unknown area-range preset'),
    (['{ann}', '{res}', '--max-dets', '1', '10', '300'], 'including 100'),
    (['{ann}', '{bad}'], r'detection #0 .* image id that is not in the annotations'),
])
def test_clear_errors(files, tmp_path, args, message):
    gt_dict, dets, ann, res = files
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps([dict(d, image_id=999999) for d in dets[:3]]))
    proc = run_tool(*(a.format(ann=ann, res=res, bad=bad) for a in args))
    assert proc.returncode != 0
    assert re.search(message, proc.stderr), proc.stderr


def test_drop_invalid_counts(files, tmp_path):
    gt_dict, dets, ann, _ = files
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps([dict(d, bbox=[1, 1, -1, 2]) if i % 10 == 0 else d for i, d in enumerate(dets)]))
    summary = evaluate_result_files(ann, [str(bad)], drop_invalid=True)['bad']
    assert summary['num_dropped'] == len(range(0, len(dets), 10))
    kept = [d for i, d in enumerate(dets) if i % 10]
    assert summary['AP'] == pytest.approx(pycocotools_eval(gt_dict, kept).stats[0], abs=1e-12)
