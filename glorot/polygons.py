"""The objects of Shapeset-3x2 as polygons: regular polygons stretched and rotated as the original
generator made them (reference §5), in pixel coordinates (x, y) with y pointing down the rows.
"""

from __future__ import annotations

import numpy as np

N_VERTICES = (3, 4, 20)  # triangle, parallelogram and ellipse, a 20-gon as in the original
MAX_VERTICES = max(N_VERTICES)
ROTATION_RESOLUTION = 255  # rotations are multiples of 2π/255


def _regular_polygon(k: int) -> np.ndarray:
    """k points on the circle of radius 0.5, with one edge horizontal (the original's n_sided)."""
    t = np.arange(k) / k + 1 / (2 * k) + 1 / 4
    points = 0.5 * np.stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * t)], axis=-1)
    # Repeat the last vertex up to MAX_VERTICES: the zero-length edges it adds change nothing.
    return np.concatenate([points, np.repeat(points[-1:], MAX_VERTICES - k, axis=0)])


_BASE_POLYGONS = np.stack([_regular_polygon(k) for k in N_VERTICES])  # (3, MAX_VERTICES, 2)


def _rotate(points: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Rotate (m, K, 2) points counter-clockwise by theta (m,) radians."""
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    x, y = points[..., 0], points[..., 1]
    return np.stack([x * c - y * s, x * s + y * c], axis=-1)


def polygon_outline(
    shapes: np.ndarray, scales: np.ndarray, pre_rotation: np.ndarray, rotation: np.ndarray
) -> np.ndarray:
    """Vertices (m, MAX_VERTICES, 2) in pixels, relative to the object's centre.

    Regular polygon → pre-rotation θ1 → scaling by (s0, s1) → rotation by −atan(s1/s0·tan θ1), which
    brings the base edge back to horizontal → final rotation θ3 (the original's r1, s, r2, r3).
    ``pre_rotation`` and ``rotation`` count steps of 2π/255.
    """
    step = 2 * np.pi / ROTATION_RESOLUTION
    theta1 = pre_rotation * step
    points = _rotate(_BASE_POLYGONS[shapes], theta1) * scales[:, None, :]
    theta2 = -np.arctan(scales[:, 1] / scales[:, 0] * np.tan(theta1))
    return _rotate(points, theta2 + rotation * step)


def polygon_vertices(
    shapes: np.ndarray,
    scales: np.ndarray,
    pre_rotation: np.ndarray,
    rotation: np.ndarray,
    positions: np.ndarray,
) -> np.ndarray:
    """Vertices (m, MAX_VERTICES, 2) as (x, y) pixel coordinates; pixel (row r, col c) spans
    [c, c+1) × [r, r+1). Triangles and parallelograms repeat their last vertex."""
    return polygon_outline(shapes, scales, pre_rotation, rotation) + positions[:, None, :]


def polygon_area(vertices: np.ndarray) -> np.ndarray:
    """Analytic area (m,) of polygons (m, K, 2) by the shoelace formula."""
    x, y = vertices[..., 0], vertices[..., 1]
    return 0.5 * np.abs((x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y).sum(-1))
