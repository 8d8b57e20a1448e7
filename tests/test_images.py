"""tfgan_orig.images: the sample grid's layout and pixel mapping, PNG round trip."""

import numpy as np

from tfgan_orig import images


def test_image_grid_layout_and_pixel_mapping():
    batch = np.zeros((3, 2, 2, 1), np.float32)
    batch[1] = 1.0
    batch[2] = 0.5
    grid = images.image_grid(batch, value_range=(0.0, 1.0), pad=1)
    # ceil(sqrt(3)) = 2 columns, 2 rows: 2 * (2 + 1) + 1 = 7 pixels each way.
    assert grid.shape == (7, 7, 1) and grid.dtype == np.uint8
    assert (grid[1:3, 1:3] == 0).all()  # image 0: value 0 -> black
    assert (grid[1:3, 4:6] == 255).all()  # image 1: value 1 -> white
    assert (grid[4:6, 1:3] == 128).all()  # image 2: round(0.5 * 255) = 128
    assert (grid[0] == 255).all()  # padding
    tanh_grid = images.image_grid(batch * 2 - 1, value_range=(-1.0, 1.0), pad=1)
    np.testing.assert_array_equal(tanh_grid, grid)
    np.testing.assert_array_equal(images.decode_png(images.png_bytes(grid)), grid)
