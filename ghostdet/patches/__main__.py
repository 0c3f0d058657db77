"""``python -m ghostdet.patches``: the changes ghostdet makes to third-party libraries, and which were applied."""
from ghostdet.patches import format_table

print(format_table())
