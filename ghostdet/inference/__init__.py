"""Use a trained detector: one detector interface over backends, large images by slicing and merging, writers."""
from .detector import (EXPORTED_BACKENDS, INFERENCE_BACKENDS, Detector, ModelDetector, PytorchDetector, array_pipeline,
                       build_detector)
from .images import IMAGE_EXTENSIONS, ImageReadError, InputImage, collect_inputs, read_image
from .merging import MERGE_METHODS, Detections, merge_detections
from .predictor import SlicedPredictor, SliceOptions
from .run import run_inference
from .slicing import slice_windows
from .writers import CSV_COLUMNS, ResultWriter, draw_detections, prepare_out_dir

__all__ = [
    'CSV_COLUMNS', 'EXPORTED_BACKENDS', 'IMAGE_EXTENSIONS', 'INFERENCE_BACKENDS', 'MERGE_METHODS', 'Detections',
    'Detector', 'ImageReadError', 'InputImage', 'ModelDetector', 'PytorchDetector', 'ResultWriter', 'SliceOptions',
    'SlicedPredictor', 'array_pipeline', 'build_detector', 'collect_inputs', 'draw_detections', 'merge_detections',
    'prepare_out_dir', 'read_image', 'run_inference', 'slice_windows'
]
