import logging

import pytest
from mmengine.logging import MMLogger
from mmdet.utils import register_all_modules


@pytest.fixture(autouse=True, scope='module')
def mmdet_scope_without_init_logs():
    """mmdet's default scope, and no per-parameter init_weights logs while the configs' models are built."""
    register_all_modules()
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)
