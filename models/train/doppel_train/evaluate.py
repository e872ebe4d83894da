"""Held-out metrics: pair recall at pair precision 0.99 per edit kind, thresholds, pHash baseline."""
import random

import numpy as np
import torch

from . import data as D

VIEW_FNS = {
    'identity': lambda x: x,
    'mirror': lambda x: torch.flip(x, dims=[3]),
    'rot90': lambda x: torch.rot90(x, 1, dims=[2, 3]),
    'rot180': lambda x: torch.rot90(x, 2, dims=[2, 3]),
    'rot270': lambda x: torch.rot90(x, 3, dims=[2, 3]),
}


@torch.no_grad()
def embed(net, head, x, views=('identity',), batch=64):
    """Returns [V, N, 128] embeddings of the tensors x [N,3,S,S] under each view."""
    net.eval()
    out = []
    for v in views:
        chunks = [head(net(VIEW_FNS[v](x[i:i + batch]))) for i in range(0, len(x), batch)]
        out.append(torch.cat(chunks))
    return torch.stack(out)


def view_distance(ea, eb):
    """Min over views: min_v D(view_v(a), b) and D(a, view_v(b)); ea, eb are [V, N, d] / [V, M, d]
    with view 0 the identity. Returns [N, M]."""
    d = torch.cdist(ea[0], eb[0])
    for v in range(1, ea.shape[0]):
        d = torch.minimum(d, torch.cdist(ea[v], eb[0]))
        d = torch.minimum(d, torch.cdist(ea[0], eb[v]))
    return d


def threshold_at_precision(pos, neg, precision=0.99):
    """Largest distance threshold whose pair precision is >= precision; returns (thr, recall).

    pos / neg: 1-D arrays of distances of true and false pairs. Pairs at or below thr are called
    duplicates. Returns (0.0, 0.0) when no threshold reaches the precision.
    """
    pos = np.sort(np.asarray(pos, dtype=np.float64))
    neg = np.sort(np.asarray(neg, dtype=np.float64))
    cands = np.unique(pos)
    tp = np.searchsorted(pos, cands, side='right')
    fp = np.searchsorted(neg, cands, side='right')
    ok = tp / np.maximum(tp + fp, 1) >= precision
    if not ok.any():
        return 0.0, 0.0
    k = np.flatnonzero(ok)[-1]
    return float(cands[k]), float(tp[k] / len(pos))


def kind_pairs(dist_fn, n):
    """Positive and negative distances for a set made of n originals then their n edited copies."""
    d = dist_fn()
    idx = torch.arange(n)
    pos = d[idx, idx + n]
    mask = torch.triu(torch.ones(2 * n, 2 * n, dtype=torch.bool), diagonal=1)
    mask[idx, idx + n] = False
    return pos.numpy(), d[mask].numpy()


def build_benchmark(root, rels, size, kinds, seed=1234):
    """Tensors for originals [N,3,S,S] and per kind copies, from held-out photo paths."""
    originals, copies, kept = [], {k: [] for k in kinds}, []
    skipped = 0
    for i, rel in enumerate(rels):
        im = D.load_rgb(f'{root}/{rel}')
        if im is None:
            skipped += 1
            continue
        kept.append(rel)
        originals.append(D.to_tensor(im, size))
        for k in kinds:
            r = random.Random(f'{seed}:{rel}:{k}')
            copies[k].append(D.to_tensor(D.EVAL_KINDS[k](im, r), size))
    return torch.stack(originals), {k: torch.stack(v) for k, v in copies.items()}, kept, skipped


def evaluate_embeddings(e_orig, e_copies, precision=0.99):
    """Per kind: (threshold, recall at pair precision) from embeddings [V,N,d] and dict of [V,N,d]."""
    n = e_orig.shape[1]
    res = {}
    for k, ec in e_copies.items():
        allv = torch.cat([e_orig, ec], dim=1)
        pos, neg = kind_pairs(lambda: view_distance(allv, allv), n)
        thr, rec = threshold_at_precision(pos, neg, precision)
        res[k] = {'threshold': thr, 'recall': rec, 'auc': auc(pos, neg)}
    return res


def auc(pos, neg):
    """ROC AUC where smaller distance means 'same photo' (ties count half)."""
    pos = np.asarray(pos)
    neg = np.asarray(neg)
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind='mergesort')
    ranks = np.empty(len(allv))
    ranks[order] = np.arange(1, len(allv) + 1)
    # average ranks for ties
    _, inv, counts = np.unique(allv, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    r_pos = ranks[: len(pos)].sum()
    u = r_pos - len(pos) * (len(pos) + 1) / 2
    return float(1.0 - u / (len(pos) * len(neg)))


# ---- pHash baseline (DCT of a 32x32 grey image, 8x8 low frequencies vs their median) ----

def _dct_matrix(n):
    k = np.arange(n)
    m = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    m[0] *= 1 / np.sqrt(2)
    return m * np.sqrt(2 / n)


_DCT32 = _dct_matrix(32)


def phash_bits(x):
    """pHash of tensors [N,3,S,S] in [0,1] -> bool [N,64]."""
    g = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    g = torch.nn.functional.interpolate(g, size=32, mode='area')[:, 0].numpy()
    c = np.einsum('ij,njk,lk->nil', _DCT32, g, _DCT32)[:, :8, :8].reshape(len(g), 64)
    med = np.median(c[:, 1:], axis=1, keepdims=True)
    return c > med


def evaluate_phash(x_orig, x_copies, precision=0.99):
    """The same per-kind figures for pHash (Hamming distance)."""
    n = len(x_orig)
    b0 = phash_bits(x_orig)
    res = {}
    for k, xc in x_copies.items():
        b = torch.from_numpy(np.concatenate([b0, phash_bits(xc)]).astype(np.float32))
        pos, neg = kind_pairs(lambda: torch.cdist(b, b, p=1), n)
        thr, rec = threshold_at_precision(pos, neg, precision)
        res[k] = {'threshold': thr, 'recall': rec, 'auc': auc(pos, neg)}
    return res
