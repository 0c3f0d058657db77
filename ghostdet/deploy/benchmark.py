"""End-to-end latency of one detector on eager PyTorch and on the exported runtimes, interleaved in one process.

Every path is timed from a BGR image to ``DetDataSample`` results in the image's pixels, split into stages:

* PyTorch (inference form): pre-processing (test pipeline + ``data_preprocessor``), network (backbone, neck,
  head), post-processing (mmdet's ``predict_by_feat``: decoding, top-k, NMS, rescale);
* exported: pre-processing (the same test pipeline + normalisation), graph (network + in-graph decoding and NMS),
  post-processing (unused rows dropped, rescale); the network alone is timed from a second graph without the
  post-processing (same runtime and precision), so graph minus network is the in-graph decoding and NMS (for
  ncnn: the host's decoding and NMS, :class:`~ghostdet.deploy.end2end.HostPostprocess`).

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

from .end2end import End2EndDetector, HostPostprocess
from .export import (NCNN_FILE, OUTPUT_NAMES, build_inference_model, check_exportable, check_options,
                     config_input_shape_or_error, convert_to_ncnn, deploy_info, export_onnx)
from .preprocess import Preprocessor, img_shapes, to_data_sample
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
    def __init__(self, session, raw_session, preprocessor: Preprocessor):
        self.session, self.raw_session, self.preprocessor = session, raw_session, preprocessor

    def __call__(self, image: np.ndarray, times: Dict[str, List[float]]):
        start = time.perf_counter()
        batch, metas = self.preprocessor([image])
        mid = time.perf_counter()
        dets, labels = self.session(batch, img_shapes(metas))
        end = time.perf_counter()
        result = to_data_sample(dets[0], labels[0], metas[0])
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
            if (precision == 'bf16' and backend != 'openvino') or (precision != 'fp32' and backend == 'ncnn'):
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
            if backend == 'ncnn':  # the network in ncnn, decoding and NMS on the host
                convert_to_ncnn(End2EndDetector(model, shape, 'maps'), tmp, shape)
                network = RUNTIMES['ncnn'](tmp / NCNN_FILE, threads=threads)
                sessions = [HostPostprocess(network, info), network]
            else:
                sessions = [RUNTIMES[backend](graphs[name, graph], precision=precision, threads=threads,
                                              spinning=False) for name in ('end2end', 'raw')]
            paths[backend, precision] = _ExportedPath(*sessions, preprocessor)
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


def benchmark_table(configs: Sequence[Union[str, Path]], out_dir: Union[str, Path], image: Optional[str] = None,
                    calib_images: Optional[str] = None, threads: int = 2, repeats: int = 20,
                    precisions: Sequence[str] = ('fp32', 'bf16', 'int8'),
                    cfg_options: Optional[dict] = None) -> str:
    """:func:`benchmark_backends` for every config (random weights, each config's own test size), one table.

    Resumable: each config's result is written to ``out_dir/latency.json`` as it finishes and not timed again.
    Returns (and writes to ``out_dir/latency.md``) the markdown table, headed by the machine it was measured on.
    """
    import json
    import os

    from ghostdet.analysis.latency import describe_cpu, print_progress
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store = out_dir / 'latency.json'
    results = json.loads(store.read_text()) if store.is_file() else {}
    started = time.perf_counter()
    todo = [str(c) for c in configs if str(c) not in results]
    for done, config in enumerate(todo, 1):
        load = os.getloadavg()[0]
        result = benchmark_backends(config, None, ('onnxruntime', 'openvino'), precisions, image=image,
                                    calib_images=calib_images, repeats=repeats, threads=threads,
                                    cfg_options=cfg_options, progress=None)
        result['rows'] = {f'{b}/{p}': row for (b, p), row in result['rows'].items()}
        result.update(load_before=load, load_after=os.getloadavg()[0], machine=describe_cpu())
        results[config] = result
        tmp = store.with_suffix('.json.tmp')
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(store)
        print_progress(done, len(todo), started, Path(config).stem)
    variants = [v for v in next(iter(results.values()))['rows'] if v != 'pytorch/fp32']
    lines = ['| config | input | PyTorch | ' + ' | '.join(variants) + ' | best | detections |',
             '|---' * (len(variants) + 5) + '|']
    for config in (str(c) for c in configs):
        result = results[config]
        rows = result['rows']
        eager = rows['pytorch/fp32']
        best = min(variants, key=lambda v: rows[v]['total'])
        cells = [f'{eager["total"]:.1f} ({eager["network"]:.1f} + {eager["post"]:.1f})']
        cells += [f'{rows[v]["total"]:.1f} ({rows[v]["network"]:.1f})' for v in variants]
        lines.append(f'| {Path(config).stem.split("_8x")[0]} | {result["shape"][0]}x{result["shape"][1]} | '
                     + ' | '.join(cells) + f' | {best} {rows[best]["ratio"]:.2f}x | {eager["detections"]} |')
    loads = [r.get('load_before', float('nan')) for r in results.values()]
    header = (f'{next(iter(results.values()))["machine"]}; {threads} threads for torch and every runtime, batch 1, '
              f'median of {repeats} interleaved runs in ms: whole path (pre-processing, network, decoding + NMS, '
              f'post-processing), in brackets the network alone (PyTorch: network + decoding/NMS); load average '
              f'before each config {min(loads):.2f}-{max(loads):.2f}')
    table = header + '\n\n' + '\n'.join(lines) + '\n'
    (out_dir / 'latency.md').write_text(table)
    return table
