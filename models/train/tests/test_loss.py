"""The triplet hinge loss on the interleaved q, p, n layout, with hand-computed values."""
import pytest
import torch

from doppel_train.loss import (batch_mean_then_hinge, in_batch_semi_hard, pair_distances,
                               triplet_hinge)


def interleave(triplets):
    """[(q, p, n), ...] of 2-D points -> tensor [3T, 2] laid out q, p, n, q, p, n, ..."""
    return torch.tensor([pt for t in triplets for pt in t], dtype=torch.float64)


def test_pair_distances_read_the_interleaved_layout():
    emb = interleave([((0, 0), (3, 4), (6, 8)), ((1, 1), (1, 2), (4, 5))])
    d_pos, d_neg = pair_distances(emb)
    assert d_pos.tolist() == pytest.approx([5.0, 1.0])
    assert d_neg.tolist() == pytest.approx([10.0, 5.0])


def test_hinge_hand_computed():
    # Triplet 1: D(q,p)=5, D(q,n)=10 -> max(0, 2 + 5 - 10) = 0.
    # Triplet 2: D(q,p)=1, D(q,n)=2  -> max(0, 2 + 1 - 2)  = 1.
    # Triplet 3: D(q,p)=2, D(q,n)=1  -> max(0, 2 + 2 - 1)  = 3.   Mean = 4 / 3.
    emb = interleave([((0, 0), (3, 4), (6, 8)), ((0, 0), (1, 0), (0, 2)),
                      ((5, 5), (5, 7), (6, 5))])
    assert float(triplet_hinge(emb, 2.0)) == pytest.approx(4.0 / 3.0, abs=1e-9)


def test_layout_matters():
    # The same rows read as [all q; all p; all n] would give another value: the layout is q,p,n.
    emb = interleave([((0, 0), (1, 0), (9, 0)), ((0, 0), (0, 1), (0, 9))])
    assert float(triplet_hinge(emb, 1.0)) == pytest.approx(0.0, abs=1e-9)
    blocked = emb.view(3, 2, 2).transpose(0, 1).reshape(6, 2)  # rows reordered q,q,p,p,n,n
    assert float(triplet_hinge(blocked, 1.0)) > 0.5


def test_zero_when_every_triplet_is_satisfied():
    emb = interleave([((0, 0), (0.1, 0), (3, 0)), ((1, 1), (1, 1.2), (1, -2)),
                      ((-2, 0), (-2, 0.05), (2, 0))])
    assert float(triplet_hinge(emb, 0.5)) == 0.0


def test_gradient_pulls_positive_and_pushes_negative():
    emb = interleave([((0, 0), (2, 0), (0, 1))]).requires_grad_(True)
    triplet_hinge(emb, 1.0).backward()
    d_pos0, d_neg0 = pair_distances(emb.detach())
    stepped = emb.detach() - 0.05 * emb.grad
    d_pos1, d_neg1 = pair_distances(stepped)
    assert float(d_pos1[0]) < float(d_pos0[0])
    assert float(d_neg1[0]) > float(d_neg0[0])
    # p moves toward q along -x, n moves away from q along +y.
    assert emb.grad[1, 0] > 0 and emb.grad[2, 1] < 0


def test_batch_mean_then_hinge_is_wrong():
    # A: D(q,p)=1, D(q,n)=5 (satisfied); B: D(q,p)=3, D(q,n)=1 (violated).
    # Per triplet: (0 + max(0, 1 + 3 - 1)) / 2 = 1.5. Batch means: max(0, 1 + 2 - 3) = 0.
    emb = interleave([((0, 0), (1, 0), (5, 0)), ((0, 0), (0, 3), (0, 1))])
    assert float(triplet_hinge(emb, 1.0)) == pytest.approx(1.5, abs=1e-9)
    assert float(batch_mean_then_hinge(emb, 1.0)) == pytest.approx(0.0, abs=1e-9)


def test_in_batch_semi_hard_counts_only_other_photos_inside_the_margin():
    # Two triplets of photos 0 and 1 (negatives are photos 1 and 0).
    emb = interleave([((0, 0), (1, 0), (0, 5)), ((0, 5), (0, 5.5), (0, 0.1))])
    ids = torch.tensor([0, 0, 1, 1, 1, 0])
    # For q0: D(q,p)=1; views of photo 1 lie at distance 5, 5.5 and 5: none inside (1, 1+gap=2).
    # For q1: D(q,p)=0.5; views of photo 0 lie at 5, ~5.1, 4.9: none inside (0.5, 2.5).
    loss, count = in_batch_semi_hard(emb, ids, 1.0)
    assert count == 0 and float(loss) == 0.0
    loss, count = in_batch_semi_hard(emb, ids, 4.6)
    # q0: margin 4.6 + 1 - d for d in {5, 5.5, 5} -> 0.6, 0.1, 0.6 (all > 1 and inside).
    # q1: 4.6 + 0.5 - d for d in {5, sqrt(26), 4.9} -> 0.1, 0.00098, 0.2.
    assert count == 6
    expected = (0.6 + 0.1 + 0.6 + 0.1 + (5.1 - 26 ** 0.5) + 0.2) / 6
    assert float(loss) == pytest.approx(expected, abs=1e-6)


def test_rejects_a_batch_that_is_not_triplets():
    with pytest.raises(ValueError, match='q,p,n'):
        triplet_hinge(torch.zeros(4, 2), 1.0)
