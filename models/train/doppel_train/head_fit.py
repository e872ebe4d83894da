"""Stage 2: trains the head (and the branch weights) with triplets on cached branch features.

The trunk stays as stage 1 left it, so every photo's views go through the network once; the head
then sees thousands of triplets per CPU-second, with negatives mined across big batches.

Run from models/train:
  nice -n 10 /usr/bin/python3 -m doppel_train.head_fit --ckpt runs/main/last.pt --out runs/main
"""
import argparse
import json
import os
import random
import time

import numpy as np
import torch

from . import data as D
from . import evaluate as E
from .loss import in_batch_semi_hard, triplet_hinge
from .net import l2n
from .train import DEFAULT_DATA, HERE, VAL_KINDS, save_ckpt

VIEWS_PER_PHOTO = 3  # one light anchor view and two edited positives


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--ckpt', default=os.path.join(HERE, 'runs/main/last.pt'))
    ap.add_argument('--out', default=os.path.join(HERE, 'runs/main'))
    ap.add_argument('--data', default=DEFAULT_DATA)
    ap.add_argument('--gaps', default='0.1,0.2,0.4', help='gaps tried; the best on validation wins')
    ap.add_argument('--steps', type=int, default=3000)
    ap.add_argument('--batch', type=int, default=256, help='triplets per batch')
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--max-photos', type=int, default=0, help='cap on cached photos (0: all)')
    ap.add_argument('--threads', type=int, default=2)
    return ap.parse_args(argv)


@torch.no_grad()
def branch_features(net, x):
    """[N, 3, S, S] -> [N, F] of the three L2-normalised branches, before the branch weights."""
    return torch.cat([l2n(net.backbone(x)), l2n(net.shallow4(x)), l2n(net.shallow8(x))], dim=1)


def cache_features(net, args, rels, path, emit):
    """Views of every training photo through the network, saved in chunks (resumable)."""
    done = torch.load(path) if os.path.exists(path) else {'feats': [], 'ids': [], 'skipped': 0}
    start = len(done['ids']) + done['skipped']
    batch, ids = [], []
    t0 = time.time()
    for i in range(start, len(rels)):
        r = random.Random(f'{args.seed}:stage2:{rels[i]}')
        im = D.load_rgb(os.path.join(args.data, rels[i]))
        if im is None:
            done['skipped'] += 1
            continue
        views = [D.light_view(im, r)] + [D.random_positive(im, r) for _ in range(2)]
        batch += [D.to_tensor(v, net.size) for v in views]
        ids.append(i)
        if len(ids) == 32 or i == len(rels) - 1:
            f = branch_features(net, torch.stack(batch)).view(len(ids), VIEWS_PER_PHOTO, -1)
            done['feats'].append(f.half())
            done['ids'] += ids
            batch, ids = [], []
            torch.save(done, path)
            emit(event='cache', photos=len(done['ids']), of=len(rels),
                 img_s=round((len(done['ids']) - start) * 3 / (time.time() - t0), 1))
    return torch.cat(done['feats']).float(), done['skipped']


def features_to_emb(f, scale, fc, dims):
    a, b = dims
    scaled = torch.cat([f[:, :a] * scale[0], f[:, a:b] * scale[1], f[:, b:] * scale[2]], dim=1)
    return l2n(fc(scaled))


def fit_head(feats, val, init, gap, args, dims, emit):
    """Triplet-trains Linear(F,128) + branch weights; returns (state, best val score)."""
    g = torch.Generator().manual_seed(args.seed)
    fc = torch.nn.Linear(feats.shape[2], 128)
    fc.load_state_dict(init['fc'])
    scale = torch.nn.Parameter(init['scale'].clone())
    opt = torch.optim.Adam(list(fc.parameters()) + [scale], lr=args.lr)
    n = feats.shape[0]
    best, best_state = -1.0, None
    for step in range(1, args.steps + 1):
        idx = torch.randperm(n, generator=g)[: args.batch]
        neg = (idx + torch.randint(1, n, (len(idx),), generator=g)) % n
        pv = torch.randint(1, VIEWS_PER_PHOTO, (len(idx),), generator=g)
        nv = torch.randint(0, VIEWS_PER_PHOTO, (len(idx),), generator=g)
        q, p, ng = feats[idx, 0], feats[idx, pv], feats[neg, nv]
        x = torch.stack([q, p, ng], dim=1).view(-1, feats.shape[2])  # q,p,n,q,p,n,...
        ids = torch.stack([idx, idx, neg], dim=1).view(-1)
        emb = features_to_emb(x, scale, fc, dims)
        loss_m, _ = in_batch_semi_hard(emb, ids, gap)
        loss = triplet_hinge(emb, gap) + 0.5 * loss_m
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % max(1, args.steps // 4) == 0 or step == args.steps:
            score, res = score_val(val, scale, fc, dims)
            emit(event='head_val', gap=gap, step=step, loss=round(float(loss), 4),
                 mean_recall=round(score, 4), scale=[round(v, 3) for v in scale.tolist()],
                 recall={k: round(v['recall'], 3) for k, v in res.items()})
            if score > best:
                best = score
                best_state = {'fc': {k: v.clone() for k, v in fc.state_dict().items()},
                              'scale': scale.detach().clone(), 'step': step}
    return best_state, best


@torch.no_grad()
def score_val(val, scale, fc, dims):
    f0, fc_ = val
    e0 = features_to_emb(f0, scale, fc, dims).unsqueeze(0)
    ec = {k: features_to_emb(v, scale, fc, dims).unsqueeze(0) for k, v in fc_.items()}
    res = E.evaluate_embeddings(e0, ec)
    return float(np.mean([r['recall'] for r in res.values()])), res


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, 'log.jsonl'), 'a')

    def emit(**kv):
        kv['time'] = time.strftime('%H:%M:%S')
        print(json.dumps(kv), flush=True)
        log.write(json.dumps(kv) + '\n')
        log.flush()

    from .export import load_checkpoint
    net, head, st = load_checkpoint(args.ckpt)
    dims = (1280, 1280 + net.shallow4.out_dims)
    rels = [r for r in D.list_photos(args.data) if not D.is_holdout(r)]
    if args.max_photos:
        rels = sorted(random.Random(args.seed).sample(rels, min(args.max_photos, len(rels))))
    cache = os.path.join(args.out, 'stage2-features.pt')
    feats, skipped = cache_features(net, args, rels, cache, emit)

    x0, xc = torch.load(os.path.join(os.path.dirname(args.out),
                                     f"val-cache-{st['args']['seed']}-{net.size}-120.pt"))
    val_path = os.path.join(args.out, 'stage2-val-features.pt')
    if os.path.exists(val_path):
        val = torch.load(val_path)
    else:
        val = (branch_features(net, x0), {k: branch_features(net, v) for k, v in xc.items()})
        torch.save(val, val_path)
    init = {'fc': head.fc.state_dict(), 'scale': net.branch_scale.detach()}
    score0, _ = score_val(val, init['scale'], head.fc, dims)
    emit(event='head_start', photos=feats.shape[0], skipped=skipped, mean_recall=round(score0, 4))

    results = {}
    for gap in [float(v) for v in args.gaps.split(',')]:
        state, score = fit_head(feats, val, init, gap, args, dims, emit)
        results[gap] = (score, state)
    gap = max(results, key=lambda k: results[k][0])
    score, state = results[gap]
    emit(event='head_best', gap=gap, mean_recall=round(score, 4), step=state['step'],
         by_gap={str(k): round(v[0], 4) for k, v in results.items()})

    st['head'] = {'fc.weight': state['fc']['weight'], 'fc.bias': state['fc']['bias']}
    st['net']['branch_scale'] = state['scale']
    st['stage2'] = {'gap': gap, 'steps': state['step'], 'photos': int(feats.shape[0]),
                    'skipped': skipped, 'val_mean_recall': score, 'batch': args.batch,
                    'by_gap': {str(k): v[0] for k, v in results.items()}, 'lr': args.lr}
    st['skipped'] = st.get('skipped', 0) + skipped
    save_ckpt(os.path.join(args.out, 'stage2.pt'), st)


if __name__ == '__main__':
    main()
