"""A PNG of a job's loss curves, for posting next to its outcome.

Rendering goes through `matplotlib.figure.Figure` and the Agg canvas directly, never `pyplot`:
pyplot keeps a global figure registry and a global backend, which is neither thread-safe nor
needed in a server. Each call builds and drops its own figure.

Matplotlib writes a font cache and reads its config from a per-user directory at import. When
that directory cannot be created (a read-only or missing HOME, as in many containers), matplotlib
falls back to a fresh temporary directory per process and logs a warning at each start.
`_ensure_mpl_config_dir` pre-empts that: it points MPLCONFIGDIR at a stable per-user directory
under the system temp dir, so the font cache survives restarts. It acts only if MPLCONFIGDIR is
unset and the default is not writable; nothing is downloaded either way. Set MPLCONFIGDIR yourself
to choose the place.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from finetuning.follow.metrics import LossPoint

MAX_POINTS_PER_SERIES = 2_000
_WIDTH_IN, _HEIGHT_IN, _DPI = 9.0, 5.0, 100

T = TypeVar("T")


def _default_mpl_dirs() -> list[Path]:
    """The directories matplotlib would use without MPLCONFIGDIR (Windows manages its own)."""
    home = Path.home()
    if sys.platform.startswith(("linux", "freebsd")):
        config = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
        cache = os.environ.get("XDG_CACHE_HOME") or str(home / ".cache")
        return [Path(config, "matplotlib"), Path(cache, "matplotlib")]
    return [home / ".matplotlib"]


def _is_writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return path.is_dir() and os.access(path, os.W_OK)


def _private_temp_dir() -> str:
    """A per-user directory in the system temp dir, refusing one another user planted there."""
    stable = Path(tempfile.gettempdir(), f"tunebot-matplotlib-{_user_tag()}")
    try:
        stable.mkdir(mode=0o700, exist_ok=True)
        owned = not hasattr(os, "getuid") or stable.stat().st_uid == os.getuid()
        if owned and stable.is_dir() and os.access(stable, os.W_OK):
            return str(stable)
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="tunebot-matplotlib-")


def _user_tag() -> str:
    return str(os.getuid()) if hasattr(os, "getuid") else "user"


def _ensure_mpl_config_dir() -> None:
    if os.environ.get("MPLCONFIGDIR") or sys.platform == "win32":
        return
    try:
        usable = all(_is_writable_dir(path) for path in _default_mpl_dirs())
    except RuntimeError:  # Path.home() cannot be determined
        usable = False
    if not usable:
        os.environ["MPLCONFIGDIR"] = _private_temp_dir()


_ensure_mpl_config_dir()

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def downsample(values: Sequence[T], limit: int = MAX_POINTS_PER_SERIES) -> list[T]:
    """At most `limit` evenly spaced items, always keeping the first and the last.

    A chart 900 px wide cannot show more than a few thousand points anyway; drawing 10^5 costs
    seconds and memory for no visible difference.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 to keep the first and the last item")
    count = len(values)
    if count <= limit:
        return list(values)
    stride = (count - 1) / (limit - 1)
    return [values[round(i * stride)] for i in range(limit)]


def loss_chart_png(points: Sequence[LossPoint], *, title: str) -> bytes | None:
    """Training and validation loss by step as a ~900x500 PNG; None when there is no loss."""
    train = _series(points, lambda p: p.train_loss)
    valid = _series(points, lambda p: p.valid_loss)
    full_valid = _series(points, lambda p: p.full_valid_loss)
    if not (train or valid or full_valid):
        return None

    figure = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN), dpi=_DPI)
    FigureCanvasAgg(figure)  # attaches itself to the figure: Agg without a global backend
    axes = figure.add_subplot()
    if train:
        steps, losses = zip(*downsample(train), strict=True)
        axes.plot(steps, losses, linewidth=1.2, color="tab:blue", label="training loss")
    if valid:
        steps, losses = zip(*downsample(valid), strict=True)
        axes.plot(
            steps,
            losses,
            linewidth=1.0,
            marker="o",
            markersize=3,
            color="tab:orange",
            label="validation loss",
        )
    if full_valid:
        steps, losses = zip(*downsample(full_valid), strict=True)
        axes.plot(
            steps,
            losses,
            linestyle="none",
            marker="D",
            markersize=6,
            color="tab:red",
            label="full validation loss",
        )
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _series(
    points: Sequence[LossPoint], value_of: Callable[[LossPoint], float | None]
) -> list[tuple[int, float]]:
    pairs = [(p.step, value) for p in points if (value := value_of(p)) is not None]
    pairs.sort(key=lambda pair: pair[0])
    return pairs
