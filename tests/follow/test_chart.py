"""The loss chart: a real PNG of the right size, bounded work, safe to import anywhere."""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from finetuning.follow.chart import MAX_POINTS_PER_SERIES, downsample, loss_chart_png
from finetuning.follow.metrics import LossPoint

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TRAIN_BLUE = (0x1F, 0x77, 0xB4)
VALID_ORANGE = (0xFF, 0x7F, 0x0E)


def _curve(count: int, *, valid_every: int = 10) -> list[LossPoint]:
    return [
        LossPoint(
            step=step,
            train_loss=2.0 * math.exp(-step / max(count, 1) * 3) + 0.1 * math.sin(step),
            valid_loss=2.1 * math.exp(-step / max(count, 1) * 3)
            if step % valid_every == 0
            else None,
        )
        for step in range(1, count + 1)
    ]


def _image(png: bytes | None) -> Image.Image:
    assert png is not None
    assert png.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def _pixels_near(image: Image.Image, color: tuple[int, int, int], tolerance: int = 12) -> int:
    distance = np.abs(np.asarray(image, dtype=np.int16) - np.array(color, dtype=np.int16))
    return int(np.all(distance <= tolerance, axis=-1).sum())


def test_chart_is_a_png_of_the_promised_size() -> None:
    image = _image(loss_chart_png(_curve(300), title="ft:gpt-4o-mini:acme::abc123"))
    assert image.size == (900, 500)
    colors = np.unique(np.asarray(image).reshape(-1, 3), axis=0)
    assert len(colors) > 20  # something was drawn, not a blank canvas


def test_validation_series_is_drawn_only_when_reported() -> None:
    train_only = [LossPoint(step=s, train_loss=1.0 / s, valid_loss=None) for s in range(1, 50)]
    without = _image(loss_chart_png(train_only, title="train only"))
    with_valid = _image(loss_chart_png(_curve(50, valid_every=5), title="both"))

    assert _pixels_near(without, TRAIN_BLUE) > 100
    assert _pixels_near(without, VALID_ORANGE) == 0
    assert _pixels_near(with_valid, VALID_ORANGE) > 100


def test_validation_only_and_single_point_charts_render() -> None:
    valid_only = [LossPoint(step=10, train_loss=None, valid_loss=1.2)]
    assert _image(loss_chart_png(valid_only, title="")).size == (900, 500)
    full_only = [LossPoint(step=10, train_loss=None, valid_loss=None, full_valid_loss=1.1)]
    assert _image(loss_chart_png(full_only, title="final")).size == (900, 500)


@pytest.mark.parametrize(
    "points",
    [
        [],
        [LossPoint(step=1, train_loss=None, valid_loss=None, train_accuracy=0.5)],
    ],
    ids=["no points", "no losses"],
)
def test_no_loss_means_no_chart(points: Sequence[LossPoint]) -> None:
    assert loss_chart_png(points, title="nothing") is None


def test_downsample_keeps_short_series_whole() -> None:
    values = list(range(MAX_POINTS_PER_SERIES))
    thinned = downsample(values)
    assert thinned == values
    assert thinned is not values


def test_downsample_caps_the_count_and_keeps_the_ends() -> None:
    values = list(range(100_000))
    thinned = downsample(values)
    assert len(thinned) == MAX_POINTS_PER_SERIES
    assert thinned[0] == 0
    assert thinned[-1] == 99_999
    assert thinned == sorted(set(thinned))


@given(count=st.integers(min_value=0, max_value=5_000), limit=st.integers(2, 600))
def test_downsample_properties(count: int, limit: int) -> None:
    values = list(range(count))
    thinned = downsample(values, limit)
    assert len(thinned) == min(count, limit)
    assert thinned == sorted(set(thinned))  # in order, no repeats
    if count:
        assert (thinned[0], thinned[-1]) == (0, count - 1)


def test_downsample_refuses_a_limit_that_cannot_keep_both_ends() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        downsample([1, 2, 3], 1)


def test_a_hundred_thousand_steps_render_quickly() -> None:
    loss_chart_png(_curve(10), title="warm-up")  # font loading is a one-time cost
    points = _curve(100_000)
    started = time.perf_counter()
    png = loss_chart_png(points, title="long job")
    elapsed = time.perf_counter() - started
    assert _image(png).size == (900, 500)
    assert elapsed < 3.0, f"rendering took {elapsed:.2f} s"


def test_concurrent_renders_match_a_serial_one() -> None:
    points = _curve(500)
    expected = loss_chart_png(points, title="threads")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: loss_chart_png(points, title="threads"), range(8)))
    assert all(result == expected for result in results)


_IMPORT_AND_RENDER = """
import os
from finetuning.follow.chart import loss_chart_png
from finetuning.follow.metrics import LossPoint
png = loss_chart_png([LossPoint(step=1, train_loss=1.0, valid_loss=None)], title="t")
assert png is not None and png.startswith(b"\\x89PNG")
print(os.environ.get("MPLCONFIGDIR", ""))
"""


def _import_chart_with_home(home: Path, temp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"}
    }
    env.update(HOME=str(home), TMPDIR=str(temp))
    return subprocess.run(
        [sys.executable, "-c", _IMPORT_AND_RENDER],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="matplotlib manages its own dirs on Windows")
def test_import_survives_an_unwritable_home_without_matplotlib_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file, so nothing can be created below it, not even by root")
    temp = tmp_path / "tmp"
    temp.mkdir()

    result = _import_chart_with_home(blocker / "home", temp)

    assert result.returncode == 0, result.stderr
    assert "temporary cache directory" not in result.stderr
    config_dir = Path(result.stdout.strip())
    assert config_dir.parent == temp
    assert config_dir.name.startswith("tunebot-matplotlib-")
    assert config_dir.is_dir()


@pytest.mark.skipif(sys.platform == "win32", reason="matplotlib manages its own dirs on Windows")
def test_a_writable_home_is_left_to_matplotlib(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    home = tmp_path / "home"
    home.mkdir()

    result = _import_chart_with_home(home, temp)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
    assert not list(temp.iterdir())
