"""The stats chart: a PNG of the promised size whose two panels carry the data (pixels of each line's
colour), drawn without pyplot or a display."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from dockbolt.core.stathistory import Sample
from workers.chart import render_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIB = 1024 * 1024
BLUE, ORANGE = (0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)  # matplotlib's tab:blue (CPU) and tab:orange (memory)


def samples(n: int) -> list[Sample]:
    return [Sample(t=1_800_000_000 + 10 * i, cpu=float(i % 40), mem=(20 + i % 10) * MIB, mem_limit=64 * MIB,
                   net_rx=0, net_tx=0, blk_read=0, blk_write=0) for i in range(n)]


def pixels(png: bytes) -> np.ndarray:
    """The image as an array of RGB bytes (rows × columns × 3)."""
    from matplotlib.image import imread

    rgba = imread(io.BytesIO(png), format="png")
    return np.asarray(np.round(rgba[..., :3] * 255), dtype=np.uint8)


def coloured(img: np.ndarray, rgb: tuple[int, int, int]) -> int:
    return int(np.all(np.abs(img.astype(int) - rgb) <= 8, axis=-1).sum())


def test_is_a_png_of_1000_by_600() -> None:
    png = render_png("web — last 1h", samples(360))
    assert png.startswith(PNG_SIGNATURE) and png[12:16] == b"IHDR"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (1000, 600)
    assert pixels(png).shape == (600, 1000, 3)


def test_both_panels_carry_the_data() -> None:
    img = pixels(render_png("web", samples(360)))
    top, bottom = img[:300], img[300:]
    assert coloured(top, BLUE) > 500  # the CPU line, in the upper panel
    assert coloured(bottom, ORANGE) > 500  # the memory line, in the lower one
    assert coloured(top, ORANGE) < 50 and coloured(bottom, BLUE) < 50
    empty = pixels(render_png("web", []))
    assert coloured(empty, BLUE) == 0 and coloured(empty, ORANGE) == 0


def test_no_pyplot_no_global_backend_change() -> None:
    import matplotlib

    before = matplotlib.get_backend() if "matplotlib.pyplot" in sys.modules else None
    render_png("web", samples(10))
    assert "matplotlib.pyplot" not in sys.modules or matplotlib.get_backend() == before


@pytest.mark.parametrize("n", [1, 2])
def test_a_single_point_still_draws(n: int) -> None:
    assert render_png("web", samples(n)).startswith(PNG_SIGNATURE)
