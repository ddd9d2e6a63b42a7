"""Where the fill ends: a minimum cut through the compositing band (as in Agarwala et al. 2004,
"Interactive Digital Photomontage").

Between the pixels that must take the fill (the region and a thin margin) and the ones that must
keep the photo (beyond the compositing band), every pixel of the band goes to one side or the
other. Crossing from fill to photo between two neighbouring pixels costs how much the two images
differ there once a smooth offset is taken out (the gradient-domain fusion afterwards removes a
smooth offset, not a line, an edge in one image only or a change of grain), so the cut runs where
the fill and the photo show the same structure. A tiny cost per band pixel given to the fill
makes the cut hug the region where nothing else decides. The cut is a maximum flow on the band's
pixel graph (`scipy.sparse.csgraph.maximum_flow`).
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

_LEVELS = 8  # capacity units per RGB level of mismatch (capacities must be integers)


def mismatch(target: np.ndarray, source: np.ndarray, sigma: float) -> np.ndarray:
    """Float (H, W) >= 0: how much `target` and `source` (float RGB (H, W, 3), 0-255) differ at
    each pixel once their difference's Gaussian blur of `sigma` px (a smooth offset, which the
    gradient-domain fusion removes) is taken out: the Euclidean norm of the difference's high-pass."""
    difference = (target - source).astype(np.float32)
    smooth = cv2.GaussianBlur(difference, (0, 0), max(float(sigma), 0.5))
    return np.sqrt(np.square(difference - smooth).sum(axis=2))


def cut_area(cost: np.ndarray, keep: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Bool (H, W): the pixels that take the fill, `keep` <= area <= `allowed` (both bool (H, W)),
    with the least total cost of its border: between every pair of 4-neighbours on either side of
    it, `cost` (float (H, W) >= 0) of both pixels. Ties go to the smaller area (each pixel of the
    area beyond `keep` costs the least unit)."""
    keep = keep & allowed
    free = allowed & ~keep
    if not free.any():
        return keep.copy()
    h, w = cost.shape
    index = -np.ones((h, w), np.int64)
    ys, xs = np.nonzero(free)
    n = len(ys)
    index[ys, xs] = np.arange(n)
    source_node, sink_node = n, n + 1
    units = np.round(cost * _LEVELS).astype(np.int64) + 1
    rows, cols, caps = [np.arange(n)], [np.full(n, sink_node)], [np.ones(n, np.int64)]  # the tie-break
    for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        own, ny, nx = np.nonzero(inside)[0], ny[inside], nx[inside]
        weight = units[ys[own], xs[own]] + units[ny, nx]
        other = index[ny, nx]
        band = other >= 0
        rows.append(own[band])
        cols.append(other[band])  # each direction once per ordered pair: both directions in all
        caps.append(weight[band])
        fill = keep[ny, nx]
        rows.append(np.full(fill.sum(), source_node))
        cols.append(own[fill])
        caps.append(weight[fill])
        photo = ~band & ~fill
        rows.append(own[photo])
        cols.append(np.full(photo.sum(), sink_node))
        caps.append(weight[photo])
    graph = sp.csr_array((np.concatenate(caps).astype(np.int32), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n + 2, n + 2))
    graph.sum_duplicates()
    flow = maximum_flow(graph, source_node, sink_node).flow
    residual = (graph - flow).tocsr()
    residual.data[residual.data < 0] = 0
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, source_node, directed=True, return_predecessors=False)
    reached = reached[reached < n]
    area = keep.copy()
    area[ys[reached], xs[reached]] = True
    return area
