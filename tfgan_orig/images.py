"""Pictures of generator samples: PNG image grids, and scatter plots for 2-D data.

Contracts:
- `image_grid(images, value_range)` takes `[n, H, W, C]` floats in `value_range` (C = 1 or 3) and
  returns one uint8 picture `[rows * (H + pad) + pad, cols * (W + pad) + pad, C]`.
- `scatter_png(points, modes)` returns the PNG bytes of a matplotlib (Agg, no display needed)
  scatter plot of `[n, 2]` samples over the mixture's mode centres.
- `write_png(array, path)` writes a uint8 `[H, W, C]` array atomically (temp file, then rename), so
  a reader never sees half a picture.
"""

import io
import math

import numpy as np
from PIL import Image

from tfgan_orig import workdir

__all__ = ["image_grid", "scatter_png", "write_png", "png_bytes", "decode_png"]


def image_grid(images, value_range=(0.0, 1.0), cols=None, pad=2, pad_value=255):
    """Tiles a batch of images into one uint8 grid picture.

    Pixel values map linearly `[lo, hi] -> [0, 255]` (values outside are clipped).

    Args:
      images: array `[n, H, W, C]` (or `[n, H, W]`), C in {1, 3}.
      value_range: `(lo, hi)`, the range the generator produces (the paper's sigmoid G: (0, 1)).
      cols: grid columns; default `ceil(sqrt(n))`.
      pad: pixels between tiles.
      pad_value: uint8 value of the padding (white).

    Returns:
      uint8 array `[rows * (H + pad) + pad, cols * (W + pad) + pad, C]`.
    """
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        raise ValueError(
            "image_grid needs images [n, H, W, C] with n >= 1 and C in (1, 3). "
            f"Received: shape {images.shape}"
        )
    lo, hi = value_range
    pixels = np.clip((images - lo) / (hi - lo), 0.0, 1.0)
    pixels = np.round(pixels * 255.0).astype(np.uint8)
    n, h, w, c = pixels.shape
    cols = int(cols or math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top : top + h, left : left + w] = pixels[i]
    return grid


def png_bytes(array):
    """uint8 `[H, W, C]` (C = 1 or 3) -> PNG bytes."""
    array = np.asarray(array, np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def decode_png(data):
    """PNG bytes -> uint8 array `[H, W, C]` (C = 1, 3 or 4 as stored)."""
    array = np.asarray(Image.open(io.BytesIO(data)))
    return array[..., None] if array.ndim == 2 else array


def write_png(array, path):
    """Writes a uint8 `[H, W, C]` array as a PNG file (atomically). Returns `path`."""
    return workdir.write_bytes(png_bytes(array), path)


def scatter_png(points, modes=None, title=None, limits=None, size_inches=4.0, dpi=100):
    """A scatter plot of 2-D samples (blue dots) over the mode centres (red crosses), as PNG bytes.

    Args:
      points: `[n, 2]` generated samples.
      modes: optional `[m, 2]` mode centres of the target mixture.
      title: optional plot title (e.g. "epoch 3").
      limits: optional `(lo, hi)` for both axes; default: the modes' extent plus a margin, so
        successive epochs share axes and can be compared.
      size_inches, dpi: figure size; the picture is `size_inches * dpi` pixels square.

    Returns:
      PNG bytes (RGBA).
    """
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot's import
    from matplotlib.figure import Figure

    points = np.asarray(points, np.float32)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"scatter_png needs points [n, 2]. Received: shape {points.shape}")
    # A bare Figure (no pyplot state machine): thread-safe and nothing left open between calls.
    fig = Figure(figsize=(size_inches, size_inches), dpi=dpi)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(points[:, 0], points[:, 1], s=2, c="tab:blue", alpha=0.5, label="samples")
    if modes is not None:
        modes = np.asarray(modes)
        ax.scatter(modes[:, 0], modes[:, 1], s=30, c="tab:red", marker="x", label="modes")
        if limits is None:
            extent = float(np.abs(modes).max())
            limits = (-1.5 * extent, 1.5 * extent)
    if limits is not None:
        ax.set_xlim(*limits)
        ax.set_ylim(*limits)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
