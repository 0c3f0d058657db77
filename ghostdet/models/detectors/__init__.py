"""Detector wrappers (registered in mmdet's MODELS) and the export of a distilled student."""
from .distillation import DistillationDetector, build_teacher, load_teacher_model_config
from .student_export import export_student, split_student_state, student_config
from .sliced_inference import SlicedInference  # noqa: F401  (registration; ghostdet.inference does the work)

__all__ = ['DistillationDetector', 'build_teacher', 'load_teacher_model_config', 'export_student',
           'split_student_state', 'student_config']
