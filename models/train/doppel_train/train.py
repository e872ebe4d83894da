"""Fine-tunes the multiscale deep-ranking network with triplets; checkpoints and resumes.

Run from models/train:  nice -n 10 /usr/bin/python3 -m doppel_train.train --out runs/main
"""
import argparse
import hashlib
import json
import os
import random
import time

import numpy as np
import torch

from . import data as D
from . import evaluate as E
from .loss import in_batch_semi_hard, pair_distances, triplet_hinge
from .net import DoppelNet, Head
from .tfjs_convert import load_nsfwjs_backbone

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, '../../../shared/datasets/train'))
VAL_KINDS = ['crop80', 'crop60', 'colour', 'watermark', 'rotate3', 'mirror', 'rot90', 'grey']


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--data', default=DEFAULT_DATA)
    ap.add_argument('--tfjs', default=os.path.join(HERE, 'data/tfjs/mobilenet_v2'))
    ap.add_argument('--out', default=os.path.join(HERE, 'runs/main'))
    ap.add_argument('--size', type=int, default=160)
    ap.add_argument('--batch', type=int, default=16, help='triplets per batch')
    ap.add_argument('--epochs', type=int, default=12)
    ap.add_argument('--gap', type=float, default=0.3)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--backbone-lr', type=float, default=1e-4)
    ap.add_argument('--freeze-until', type=int, default=11,
                    help='backbone.features[:k] stay frozen (k=11: up to the 64-channel stage)')
    ap.add_argument('--mined-weight', type=float, default=0.5)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--max-minutes', type=float, default=0, help='stop (with a checkpoint) after')
    ap.add_argument('--max-steps', type=int, default=0)
    ap.add_argument('--val-photos', type=int, default=120)
    ap.add_argument('--resume', action='store_true')
    ap.add_argument('--threads', type=int, default=2)
    return ap.parse_args(argv)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(root, rels, path):
    """Writes the training-file manifest (relative path + sha256); returns the manifest's sha256."""
    entries = [{'path': rel, 'sha256': sha256_file(os.path.join(root, rel))} for rel in rels]
    text = json.dumps({'root': 'datasets/train', 'files': entries}, indent=0, sort_keys=True)
    with open(path, 'w') as f:
        f.write(text)
    return hashlib.sha256(text.encode()).hexdigest()


def build_model(args):
    net = DoppelNet(size=args.size)
    load_nsfwjs_backbone(net.backbone, args.tfjs)
    head = Head(net.feature_dims)
    for i, m in enumerate(net.backbone.features):
        for p in m.parameters():
            p.requires_grad = i >= args.freeze_until
    return net, head


def set_train_mode(net, head):
    """Trains, but keeps every BatchNorm on its pretrained statistics (small CPU batches)."""
    net.train()
    head.train()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()


def make_optimizer(net, head, args):
    back = [p for p in net.backbone.parameters() if p.requires_grad]
    rest = [p for n, p in net.named_parameters() if not n.startswith('backbone.')]
    return torch.optim.AdamW([
        {'params': back, 'lr': args.backbone_lr},
        {'params': rest + list(head.parameters()), 'lr': args.lr},
    ], weight_decay=1e-4)


def validate(net, head, bench):
    x0, xc = bench
    e0 = E.embed(net, head, x0)
    ec = {k: E.embed(net, head, v) for k, v in xc.items()}
    res = E.evaluate_embeddings(e0, ec)
    return float(np.mean([r['recall'] for r in res.values()])), res


def save_ckpt(path, state):
    tmp = path + '.tmp'
    torch.save(state, tmp)
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, 'log.jsonl'), 'a')

    def emit(**kv):
        kv['time'] = time.strftime('%H:%M:%S')
        line = json.dumps(kv)
        print(line, flush=True)
        log.write(line + '\n')
        log.flush()

    rels = D.list_photos(args.data)
    train_rels = [r for r in rels if not D.is_holdout(r)]
    hold_rels = [r for r in rels if D.is_holdout(r)]
    manifest_sha = write_manifest(args.data, train_rels, os.path.join(args.out, 'manifest.json'))
    emit(event='data', train=len(train_rels), holdout=len(hold_rels), manifest_sha256=manifest_sha)

    net, head = build_model(args)
    opt = make_optimizer(net, head, args)
    start_epoch, step, best, skip_batches = 0, 0, -1.0, 0
    ckpt_path = os.path.join(args.out, 'last.pt')
    if args.resume and os.path.exists(ckpt_path):
        st = torch.load(ckpt_path)
        net.load_state_dict(st['net'])
        head.load_state_dict(st['head'])
        opt.load_state_dict(st['opt'])
        start_epoch, step, best = st['epoch'], st['step'], st['best']
        per_epoch = len(train_rels) // args.batch
        skip_batches = st.get('batch_in_epoch', st['step'] - st['epoch'] * per_epoch)
        torch.set_rng_state(st['torch_rng'])
        emit(event='resume', epoch=start_epoch, step=step, best=best)

    vr = random.Random(args.seed)
    val_rels = sorted(vr.sample(hold_rels, min(args.val_photos, len(hold_rels))))
    cache = os.path.join(os.path.dirname(args.out),
                         f'val-cache-{args.seed}-{args.size}-{len(val_rels)}.pt')
    if os.path.exists(cache):
        x0, xc = torch.load(cache)
    else:
        x0, xc, _, _ = E.build_benchmark(args.data, val_rels, args.size, VAL_KINDS,
                                         seed=args.seed)
        torch.save((x0, xc), cache)
    bench = (x0, xc)
    if step == 0:
        score, res = validate(net, head, bench)
        emit(event='val', epoch=0, step=0, mean_recall=score,
             recall={k: round(v['recall'], 3) for k, v in res.items()})

    if args.max_steps and step >= args.max_steps:
        emit(event='done', step=step, best=best, note='already at --max-steps')
        return
    ds = D.TripletSet(args.data, train_rels, args.size, args.seed)
    t_start = time.time()
    skipped_total = 0
    stop = False
    for epoch in range(start_epoch, args.epochs):
        ds.epoch = epoch
        g = torch.Generator()
        g.manual_seed(args.seed * 1000 + epoch)
        order = torch.randperm(len(ds), generator=g).tolist()
        # A resumed partial epoch continues where it stopped, in the same order.
        first = skip_batches if epoch == start_epoch else 0
        loader = torch.utils.data.DataLoader(
            ds, batch_size=args.batch, sampler=order[first * args.batch:], num_workers=1,
            collate_fn=D.collate_triplets, drop_last=True, persistent_workers=False)
        batch_in_epoch = first
        set_train_mode(net, head)
        t0, seen, run_loss, run_active = time.time(), 0, 0.0, 0.0
        for x, ids, skipped in loader:
            if args.max_steps and step >= args.max_steps:
                stop = True
                break
            skipped_total += skipped
            if x is None:
                continue
            emb = head(net(x))
            loss_t = triplet_hinge(emb, args.gap)
            loss_m, n_mined = in_batch_semi_hard(emb, ids, args.gap)
            loss = loss_t + args.mined_weight * loss_m
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            batch_in_epoch += 1
            seen += x.shape[0]
            with torch.no_grad():
                dp, dn = pair_distances(emb)
                run_active += float(((args.gap + dp - dn) > 0).float().mean())
            run_loss += float(loss_t)
            if step % 20 == 0:
                emit(event='train', epoch=epoch, step=step, loss=round(run_loss / 20, 4),
                     active=round(run_active / 20, 3), mined=n_mined,
                     img_s=round(seen / (time.time() - t0), 1), skipped=skipped_total,
                     scales=[round(v, 3) for v in net.branch_scale.tolist()])
                run_loss, run_active = 0.0, 0.0
            minutes = (time.time() - t_start) / 60
            if args.max_minutes and minutes > args.max_minutes:
                stop = True
                break
        score, res = validate(net, head, bench)
        emit(event='val', epoch=epoch + 1, step=step, mean_recall=round(score, 4),
             recall={k: round(v['recall'], 3) for k, v in res.items()}, partial_epoch=stop)
        state = {'net': net.state_dict(), 'head': head.state_dict(), 'opt': opt.state_dict(),
                 'epoch': epoch + (0 if stop else 1), 'step': step, 'best': max(best, score),
                 'batch_in_epoch': batch_in_epoch if stop else 0,
                 'torch_rng': torch.get_rng_state(), 'args': vars(args),
                 'manifest_sha256': manifest_sha, 'skipped': skipped_total}
        if score > best:
            best = score
            save_ckpt(os.path.join(args.out, 'best.pt'), state)
            emit(event='best', epoch=epoch + 1, mean_recall=round(score, 4))
        save_ckpt(ckpt_path, state)
        if stop:
            break
    emit(event='done', step=step, best=best, skipped=skipped_total,
         minutes=round((time.time() - t_start) / 60, 1))


if __name__ == '__main__':
    main()
