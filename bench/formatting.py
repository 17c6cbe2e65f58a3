"""How numbers read in reports and comments: one place, so every table agrees."""

from __future__ import annotations


def ms(value: float | None) -> str:
    """Milliseconds with three significant-ish digits: 1,234 ms, 12.3 ms, 1.23 ms, 0.123 ms."""
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    if value >= 1:
        return f"{value:.2f} ms"
    return f"{value:.3f} ms"


def us(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g} µs"


def factor(value: float | None) -> str:
    """A ratio such as a speedup: 1,492x, 20.4x, 2.25x."""
    if value is None:
        return "–"
    return f"{value:,.0f}x" if value >= 100 else f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def pct(value: float | None, signed: bool = True) -> str:
    """A percentage: +21%, -3.5%, 0% (no '-0%')."""
    if value is None:
        return "–"
    if abs(value) < 0.05:
        return "0%"
    digits = 0 if abs(value) >= 10 else 1
    return f"{value:+.{digits}f}%" if signed else f"{value:.{digits}f}%"


def mb(n: float | None) -> str:
    return "–" if n is None else f"{n / 1e6:,.1f} MB"


def ms_per_s(value: float | None, signed: bool = False) -> str:
    """Server time per second of traffic: 1,860 ms/s, 12.3 ms/s, 0.42 ms/s, 0.0031 ms/s."""
    if value is None:
        return "–"
    size = abs(value)
    text = (f"{value:,.0f}" if size >= 100 else f"{value:.1f}" if size >= 10
            else f"{value:.2f}" if size >= 0.1 else f"{value:.2g}" if size else "0")
    return f"{'+' if signed and value > 0 else ''}{text} ms/s"
