"""Numbers as the report prints them; "n/a" for what was not measured."""

NA = "n/a"


def seconds_text(value: float | None) -> str:
    if value is None:
        return NA
    if value >= 100:
        return f"{value:.0f} s"
    if value >= 10:
        return f"{value:.1f} s"
    return f"{value:.2f} s"


def ratio_text(value: float | None) -> str:
    return NA if value is None else f"{value:.2f}"


def bytes_text(value: float | None) -> str:
    if value is None:
        return NA
    if value >= 1024**3:
        return f"{value / 1024**3:.2f} GiB"
    return f"{value / 1024**2:.0f} MiB"


def speedup_text(value: float | None) -> str:
    """How many times faster: "12.3x"."""
    if value is None:
        return NA
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"
