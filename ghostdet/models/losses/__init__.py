"""Distillation losses (registered in mmdet's MODELS), used through DistillationDetector."""
from .base import FEATURE_SOURCES, HEAD_SOURCES, DistillLoss
from .feature_distill import CWDLoss, FeatureDistillLoss, PKDLoss
from .logit_distill import LDLoss, LogitKDLoss

__all__ = ['FEATURE_SOURCES', 'HEAD_SOURCES', 'DistillLoss', 'FeatureDistillLoss', 'CWDLoss', 'PKDLoss', 'LDLoss',
           'LogitKDLoss']
