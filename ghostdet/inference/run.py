"""The inference run behind ``tools/infer.py``: inputs -> detector -> (sliced) prediction -> outputs, image by image."""
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from mmengine.utils import ProgressBar

from .detector import build_detector
from .images import ImageReadError, collect_inputs, image_size, read_image
from .predictor import SlicedPredictor, SliceOptions
from .writers import ResultWriter, prepare_out_dir


class _Progress:
    """mmengine's progress bar (with ETA) counted in detector inputs (slices), so that the ETA holds for a few
    very large images too; planned from the image headers, corrected once an image is finished."""

    def __init__(self, total: int):
        self.bar = ProgressBar(total, file=sys.stderr) if total else None
        self.image_units = 0

    def __call__(self, num: int) -> None:
        self.bar.update(num)
        self.image_units += num

    def end_image(self, planned: int) -> None:
        if planned > self.image_units:
            self.bar.update(planned - self.image_units)
        self.image_units = 0


def _abs(path: Optional[str]) -> Optional[str]:
    return None if path is None else str(Path(path).resolve())


def run_inference(sources: Sequence[str], out_dir: str, options: SliceOptions, backend: str = 'pytorch',
                  config: Optional[str] = None, checkpoint: Optional[str] = None, model_dir: Optional[str] = None,
                  device: str = 'cpu', skip_existing: bool = False, force: bool = False,
                  draw: bool = True) -> List[str]:
    """Predict every image of ``sources`` and write the results to ``out_dir`` (see :mod:`.writers`).

    Every argument is checked before the model is built. An image that cannot be read is reported, skipped and
    returned; the run goes on.

    Args:
        sources (Sequence[str]): Image files, folders (searched recursively) and glob patterns.
        out_dir (str): Output folder.
        options (SliceOptions): Slicing, merging and score threshold.
        backend, config, checkpoint, model_dir, device: The detector, as :func:`build_detector` takes it.
        skip_existing (bool): Continue a run in ``out_dir``: skip the images it finished.
        force (bool): Replace the results in ``out_dir``.
        draw (bool): Write the drawn images.

    Returns:
        list[str]: ``'path: reason'`` for each image that could not be read.
    """
    inputs = collect_inputs(sources)
    settings = dict(backend=backend, config=_abs(config), checkpoint=_abs(checkpoint), model_dir=_abs(model_dir),
                    **{k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(options).items()})
    prepare_out_dir(out_dir, settings, skip_existing=skip_existing, force=force)
    detector = build_detector(backend, config=config, checkpoint=checkpoint, model_dir=model_dir, device=device)
    writer = ResultWriter(out_dir, detector.class_names, draw=draw)
    predictor = SlicedPredictor(detector, options)

    todo = [image for image in inputs if not writer.is_done(image.name)]
    if len(todo) < len(inputs):
        print(f'skipping {len(inputs) - len(todo)} finished image(s) of {len(inputs)}', file=sys.stderr)
    planned = [len(predictor.windows(*size)) if size else 1 for size in map(image_size, (i.path for i in todo))]
    progress = _Progress(sum(planned))
    failures = []
    for image_file, units in zip(todo, planned):
        try:
            image = read_image(image_file.path)
        except ImageReadError as error:
            failures.append(str(error))
            print(f'\nskipped {error}', file=sys.stderr)
        else:
            writer.write(image_file.name, image, predictor.predict(image, progress=progress))
            del image
        progress.end_image(units)
    writer.finish(failures)
    if todo:
        print(file=sys.stderr)
    return failures
