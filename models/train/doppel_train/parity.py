"""The parity inputs: a formula both Python and TypeScript compute, so no pixels are stored."""
import math

import torch

PARITY_DESCRIPTION = (
    'x[n][c][i][j] = 0.5 + 0.5 * sin(0.01 * (i + 1) * (c + 1) + 0.02 * j + 0.7 * n), '
    'float32 NCHW, n in 0..N-1, c in 0..2, i (row) and j (column) in 0..S-1, computed in float64 '
    'then rounded to float32'
)


def parity_input(n, size):
    """The parity tensor [n, 3, size, size] of PARITY_DESCRIPTION."""
    x = torch.empty(n, 3, size, size, dtype=torch.float64)
    i = torch.arange(size, dtype=torch.float64).view(size, 1)
    j = torch.arange(size, dtype=torch.float64).view(1, size)
    for b in range(n):
        for c in range(3):
            x[b, c] = 0.5 + 0.5 * torch.sin(0.01 * (i + 1) * (c + 1) + 0.02 * j + 0.7 * b)
    return x.to(torch.float32)


def check_formula_point(x, b, c, i, j):
    """One element recomputed with math.sin, for tests of the formula itself."""
    v = 0.5 + 0.5 * math.sin(0.01 * (i + 1) * (c + 1) + 0.02 * j + 0.7 * b)
    return abs(float(x[b, c, i, j]) - v) < 1e-6
