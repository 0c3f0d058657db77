"""Detector wrappers (registered in mmdet's MODELS)."""
from .distillation import DistillationDetector, build_teacher, load_teacher_model_config

__all__ = ['DistillationDetector', 'build_teacher', 'load_teacher_model_config']
