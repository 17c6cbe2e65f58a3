"""One-line verdicts: what the measured before/after says, next to what the report claimed."""

from __future__ import annotations

from bench.formatting import factor
from bench.results.model import ReadVerdict

# A speedup whose 95% interval reaches into this band is not a consistent change.
NOISE_BAND = (0.9, 1.1)


def read_verdict(
    speedup: float | None, ci: tuple[float, float] | None, claimed_factor: float | None,
    expected_index: str | None, indexes_after: list[str], error: str | None = None,
    noise: tuple[float, float] | None = None,
) -> tuple[ReadVerdict, str]:
    """(status, sentence). status is one of: faster, slower, unchanged, error.

    A change is called only when the whole interval lies outside the noise band: the A/A
    control's interval (`noise`, when measured) and at least NOISE_BAND around 1.
    """
    status: ReadVerdict
    if error or speedup is None or ci is None:
        return "error", f"not measured: {error or 'no rounds'}"
    lo, hi = ci
    band = (min(NOISE_BAND[0], noise[0]), max(NOISE_BAND[1], noise[1])) if noise else NOISE_BAND
    claim = f" (claimed {claimed_factor:.0f}x)" if claimed_factor else ""
    uses = ""
    if expected_index:
        uses = (f"; uses {expected_index}" if expected_index in indexes_after
                else f"; does not use {expected_index}")
    if lo > band[1]:
        status = "faster"
        if claimed_factor and lo >= claimed_factor:
            text = f"{factor(speedup)} faster, meets the claim{claim}"
        elif claimed_factor and hi >= claimed_factor:
            text = f"{factor(speedup)} faster, consistent with the claim{claim}"
        elif claimed_factor:
            text = f"{factor(speedup)} faster, short of the claim{claim}"
        else:
            text = f"{factor(speedup)} faster"
    elif hi < band[0]:
        status = "slower"
        text = f"{factor(1 / speedup)} SLOWER after the migration{claim}"
    elif hi > band[1]:
        status = "unchanged"
        text = (f"no consistent speedup: {factor(lo)}–{factor(hi)} depending on "
                f"parameters{claim}")
    else:
        status = "unchanged"
        text = f"no measurable change{claim}"
    return status, text + uses
