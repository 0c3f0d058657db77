"""Deployment: export single-stage detectors to ONNX (mmdeploy's ``end2end.onnx`` convention) and OpenVINO IR,
int8 quantisation, and the exported models behind ghostdet's Detector interface (``'onnxruntime'``,
``'openvino'`` backends).

Importing this package registers those backends; the runtime packages themselves (the ``deploy`` extra) are
imported only when a model is exported or run, and ``import ghostdet`` does not import this package.
"""
from .detector import ExportedDetector, read_deploy_info
from .evaluate import ExportedDetectorModel, evaluate_exported
from .export import ExportError, check_exportable, export_detector
from .runtimes import RUNTIMES, MissingRuntimeError

__all__ = ['ExportedDetector', 'ExportedDetectorModel', 'ExportError', 'MissingRuntimeError', 'RUNTIMES',
           'check_exportable', 'evaluate_exported', 'export_detector', 'read_deploy_info']
