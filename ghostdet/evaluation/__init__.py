"""Evaluation metrics registered in mmdet METRICS on import."""
