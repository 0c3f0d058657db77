"""End-to-end latency of one detector on eager PyTorch and on the exported runtimes, interleaved in one process.

Every path is timed from a BGR image to ``DetDataSample`` results in the image's pixels, split into stages:

* PyTorch (inference form): pre-processing (test pipeline + ``data_preprocessor``), network (backbone, neck,
  head), post-processing (mmdet's ``predict_by_feat``: decoding, top-k, NMS, rescale);
* exported: pre-processing (the same test pipeline + normalisation), graph (network + in-graph decoding and NMS),
  post-processing (unused rows dropped, rescale); the network alone is timed from a second graph without the
  post-processing (same runtime and precision), so graph minus network is the in-graph decoding and NMS.

Each repetition runs every variant once, in turn, so machine load affects them alike; ratios are to PyTorch.
ONNX Runtime's threads are told not to spin between runs, which would take the cores from the other variants.
"""
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from .end2end import End2EndDetector
from .export import (build_inference_model, check_exportable, check_options, config_input_shape_or_error,
                     OUTPUT_NAMES, deploy_info, export_onnx)
from .preprocess import Preprocessor, to_data_sample
from .runtimes import RUNTIMES

STAGES = ('pre', 'network', 'post')


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) * 1e3


class _PytorchPath:
    def __init__(self, model, info: Dict):
        self.model = model
        self.pipeline = Preprocessor(info).pipeline

    def __call__(self, image: np.ndarray, times: Dict[str, List[float]]):
        start = time.perf_counter()
        data = self.model.data_preprocessor(pseudo_collate([self.pipeline(dict(img=image, img_id=0))]), False)
        mid = time.perf_counter()
        outs = self.model.bbox_head(self.model.extract_feat(data['inputs']))
        end = time.perf_counter()
        results = self.model.bbox_head.predict_by_feat(*outs, batch_img_metas=[s.metainfo for s in
                                                                                data['data_samples']], rescale=True)
        done = time.perf_counter()
        for stage, seconds in zip(STAGES, (mid - start, end - mid, done - end)):
            times[stage].append(seconds)
        return results[0]


class _ExportedPath:
    def __init__(self, session, raw_session, preprocessor: Preprocessor, clip: bool):
        self.session, self.raw_session, self.preprocessor, self.clip = session, raw_session, preprocessor, clip

    def __call__(self, image: np.ndarray, times: Dict[str, List[float]]):
        start = time.perf_counter()
        batch, metas = self.preprocessor([image])
        mid = time.perf_counter()
        dets, labels = self.session(batch)
        end = time.perf_counter()
        result = to_data_sample(dets[0], labels[0], metas[0], self.clip)
        done = time.perf_counter()
        self.raw_session(batch)
        raw_end = time.perf_counter()
        for stage, seconds in zip(('pre', 'graph', 'post', 'network'),
                                  (mid - start, end - mid, done - end, raw_end - done)):
            times[stage].append(seconds)
        return result.pred_instances


def _variants(backends: Sequence[str], precisions: Sequence[str]) -> List[Tuple[str, str]]:
    variants = [('pytorch', 'fp32')]
    for backend in backends:
        if backend == 'pytorch':
            continue
        for precision in precisions:
            if precision == 'bf16' and backend != 'openvino':
                continue
            check_options(backend, precision)
            variants.append((backend, precision))
    return variants


def benchmark_backends(config: Union[str, Path], checkpoint: Optional[str] = None,
                       backends: Sequence[str] = ('onnxruntime', 'openvino'),
                       precisions: Sequence[str] = ('fp32', 'bf16', 'int8'), shape: Optional[Sequence[int]] = None,
                       image: Optional[str] = None, calib_images: Optional[str] = None, repeats: int = 20,
                       warmup: int = 3, threads: int = 2, cfg_options: Optional[dict] = None,
                       progress=print) -> Dict:
    """Median milliseconds per stage and in total for PyTorch and every (backend, precision), interleaved.

    Args:
        config, checkpoint: the detector (random weights without a checkpoint).
        backends, precisions: exported variants to time (bf16 on OpenVINO only); PyTorch is always the reference.
        shape: static input (H, W) of the export (default: the config's test size).
        image: the BGR image to time (default: a generated 640x480 image); also the int8 calibration image unless
            ``calib_images`` is given.
        threads: torch and runtime threads (all paths the same).
    """
    cfg = Config.fromfile(str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_exportable(cfg)
    variants = _variants(backends, precisions)
    shape = config_input_shape_or_error(cfg, shape)
    torch.set_num_threads(threads)
    torch.manual_seed(0)  # random weights (no checkpoint): the same network, hence box counts, in every run
    model, meta = build_inference_model(cfg, checkpoint)
    info = deploy_info(cfg, model, meta, shape, False, 'onnxruntime', 'fp32', config, checkpoint)
    if image is None:
        frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    else:
        frame = cv2.imread(image, cv2.IMREAD_COLOR)
        if frame is None:
            raise FileNotFoundError(f'cannot read image {image}')
    preprocessor = Preprocessor(info)
    paths = {('pytorch', 'fp32'): _PytorchPath(model, info)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if calib_images is None:
            cv2.imwrite(str(tmp / 'calibration.png'), frame)
        graphs = {}
        for name, raw in (('end2end', False), ('raw', True)):
            graphs[name, 'fp32'] = tmp / f'{name}.onnx'
            export_onnx(End2EndDetector(model, shape, 'maps' if raw else 'detections'), graphs[name, 'fp32'], shape,
                        output_names=() if raw else OUTPUT_NAMES)
            if 'int8' in precisions:
                from .quantize import quantize_int8
                graphs[name, 'int8'] = tmp / f'{name}.int8.onnx'
                quantize_int8(graphs[name, 'fp32'], graphs[name, 'int8'], info, cfg, calib_images or tmp, 16)
        for backend, precision in variants[1:]:
            graph = 'int8' if precision == 'int8' else 'fp32'
            sessions = [RUNTIMES[backend](graphs[name, graph], precision=precision, threads=threads, spinning=False)
                        for name in ('end2end', 'raw')]
            paths[backend, precision] = _ExportedPath(*sessions, preprocessor, info['clip_boxes'])
        times = {variant: {stage: [] for stage in ('pre', 'network', 'post', 'graph')} for variant in variants}
        counts = {}
        started = time.perf_counter()
        with torch.inference_mode():
            for step in range(warmup + repeats):
                for variant, path in paths.items():
                    sink = times[variant] if step >= warmup else {k: [] for k in times[variant]}
                    counts[variant] = len(path(frame, sink))
                if progress and (step + 1) % 5 == 0:
                    eta = (time.perf_counter() - started) / (step + 1) * (warmup + repeats - step - 1)
                    progress(f'run {step + 1}/{warmup + repeats}, ETA {eta:.0f} s')
    rows = {}
    for variant, stage_times in times.items():
        total = [sum(parts) for parts in zip(*(stage_times[s] for s in
                                               (('pre', 'network', 'post') if variant[0] == 'pytorch'
                                                else ('pre', 'graph', 'post'))))]
        row = {stage: _median(values) for stage, values in stage_times.items() if values}
        row['total'] = _median(total)
        if variant[0] != 'pytorch':
            row['in_graph_post'] = row['graph'] - row['network']
        row['detections'] = counts[variant]
        rows[variant] = row
    reference = rows['pytorch', 'fp32']['total']
    for row in rows.values():
        row['ratio'] = row['total'] / reference
    return dict(config=str(config), shape=shape, threads=threads, repeats=repeats, rows=rows)


def format_table(result: Dict) -> str:
    """A markdown table of :func:`benchmark_backends`' result."""
    lines = [f'{result["config"]}: 1x3x{result["shape"][0]}x{result["shape"][1]}, {result["threads"]} threads, '
             f'median of {result["repeats"]} interleaved runs (ms)', '',
             '| backend | precision | pre | network | decode+NMS | post | total | x PyTorch | detections |',
             '|---|---|---|---|---|---|---|---|---|']
    for (backend, precision), row in result['rows'].items():
        decode = row['post'] if backend == 'pytorch' else row['in_graph_post']
        post = '(in decode+NMS)' if backend == 'pytorch' else f'{row["post"]:.2f}'
        lines.append(f'| {backend} | {precision} | {row["pre"]:.2f} | {row["network"]:.2f} | {decode:.2f} | {post} | '
                     f'{row["total"]:.2f} | {row["ratio"]:.2f} | {row["detections"]} |')
    return '\n'.join(lines)
