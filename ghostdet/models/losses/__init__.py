"""Registered in mmdet MODELS on import."""
