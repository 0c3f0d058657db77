def make_divisible(value: float, divisor: int = 8, min_value: int = None, round_limit: float = 0.9) -> int:
    """Round a channel count to the nearest multiple of ``divisor``.

    The MobileNet/timm rule: never go below ``min_value`` (default ``divisor``) and never round down by more
    than ``1 - round_limit`` of the value (add one more ``divisor`` instead). GhostNet uses ``divisor=4``.
    """
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < round_limit * value:
        rounded += divisor
    return rounded
