"""The deep-ranking triplet hinge loss on batches laid out q, p, n, q, p, n, ..."""
import torch


def pair_distances(emb):
    """Splits an interleaved batch [3T, D] into Euclidean D(q,p) and D(q,n), each [T]."""
    if emb.dim() != 2 or emb.shape[0] % 3:
        raise ValueError(f'expected [3T, D] laid out q,p,n,...; got shape {tuple(emb.shape)}')
    q, p, n = emb[0::3], emb[1::3], emb[2::3]
    return _dist(q, p), _dist(q, n)


def _dist(a, b, eps=1e-12):
    # eps keeps the gradient finite when two embeddings coincide.
    return torch.sqrt(((a - b) ** 2).sum(dim=1) + eps)


def triplet_hinge(emb, gap):
    """Mean over triplets of max(0, gap + D(q,p) - D(q,n)); emb is [3T, D] laid out q,p,n,..."""
    d_pos, d_neg = pair_distances(emb)
    return torch.clamp(gap + d_pos - d_neg, min=0).mean()


def batch_mean_then_hinge(emb, gap):
    """The WRONG variant (hinge of batch means), kept only so tests show how it differs."""
    d_pos, d_neg = pair_distances(emb)
    return torch.clamp(gap + d_pos.mean() - d_neg.mean(), min=0)


def in_batch_semi_hard(emb, view_ids, gap):
    """Extra triplets mined in the batch: for each (q, p), every view x of another photo with
    D(q,p) < D(q,x) < D(q,p) + gap (semi-hard). view_ids [3T] names the photo of each row.
    Returns (mean hinge over those triplets, how many).

    Semi-hard rather than batch-hard: pure hardest-negative mining collapsed earlier probes.
    """
    q, p = emb[0::3], emb[1::3]
    d_pos = _dist(q, p)
    d_all = torch.cdist(q, emb)
    different = view_ids.unsqueeze(0) != view_ids[0::3].unsqueeze(1)
    margin = gap + d_pos.unsqueeze(1) - d_all
    mask = different & (d_all > d_pos.unsqueeze(1)) & (margin > 0)
    count = int(mask.sum())
    if count == 0:
        return emb.sum() * 0.0, 0
    return margin[mask].mean(), count
