"""ghostdet's parts of mmengine's training engine (checkpoint I/O, launching); ``ghostdet.patches`` applies them."""
