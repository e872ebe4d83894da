"""Exports a checkpoint: ONNX network, head file, parity fixture and the model card (with the
held-out evaluation and calibrated thresholds).

Run from models/train:  /usr/bin/python3 -m doppel_train.export --ckpt runs/main/best.pt
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
from .net import DoppelNet, Head, read_head, write_head
from .parity import PARITY_DESCRIPTION, parity_input

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.normpath(os.path.join(HERE, '..'))
SHARED = os.path.normpath(os.path.join(HERE, '../../../shared/datasets'))


def sha256_file(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_checkpoint(path):
    st = torch.load(path)
    size = st['args']['size']
    net = DoppelNet(size=size)
    net.load_state_dict(st['net'])
    head = Head(net.feature_dims)
    head.load_state_dict(st['head'])
    return net.eval(), head.eval(), st


def export_onnx(net, path, size):
    """Opset 13, dynamic batch axis, input `input` [N,3,S,S] -> output `features` [N,F]."""
    torch.onnx.export(net, torch.zeros(2, 3, size, size), path, input_names=['input'],
                      output_names=['features'], opset_version=13,
                      dynamic_axes={'input': {0: 'batch'}, 'features': {0: 'batch'}})


def write_parity(net, path, size, onnx_file):
    x = parity_input(2, size)
    with torch.no_grad():
        f = net(x)
    fixture = {
        'description': PARITY_DESCRIPTION,
        'onnx': onnx_file, 'input': 'input', 'output': 'features', 'shape': [2, 3, size, size],
        'tolerance': 1e-4,
        'features': [[round(v, 7) for v in row] for row in f.tolist()],
    }
    with open(path, 'w') as fh:
        json.dump(fixture, fh)


def eval_holdout(net, head, data_root, size, views_options, max_photos):
    """Held-out benchmark: per-kind recall at precision 0.99 for the net (per views option) and
    pHash, and the pooled near-duplicate threshold for each views option."""
    rels = [r for r in D.list_photos(data_root) if D.is_holdout(r)]
    rels = sorted(random.Random(99).sample(rels, min(max_photos, len(rels))))
    kinds = list(D.EVAL_KINDS)
    x0, xc, kept, skipped = E.build_benchmark(data_root, rels, size, kinds, seed=99)
    out = {'photos': len(kept), 'skipped': skipped, 'kinds': kinds,
           'phash': E.evaluate_phash(x0, xc)}
    union = [v for v in E.VIEW_FNS if any(v in opt for opt in views_options)]
    t0 = time.time()
    # One pass per view in the union; each option reads its own views out of it.
    u0 = E.embed(net, head, x0, union)
    uc = {k: E.embed(net, head, v, union) for k, v in xc.items()}
    out['embedSeconds'] = round(time.time() - t0, 1)
    for views in views_options:
        sel = [union.index(v) for v in views]
        e0 = u0[sel]
        ec = {k: v[sel] for k, v in uc.items()}
        per_kind = E.evaluate_embeddings(e0, ec)
        thr, pooled_recall = pooled_threshold(e0, ec)
        for k in per_kind:
            d = E.view_distance(e0, ec[k]).diagonal()
            per_kind[k]['recall_at_shipped'] = float((d <= thr).float().mean())
        out['+'.join(views)] = {'per_kind': per_kind, 'nearDuplicate': thr,
                                'pooled_recall': pooled_recall}
    return out


def pooled_threshold(e0, ec):
    """Largest distance with pair precision >= 0.99 over originals + every kind's copies."""
    allv = torch.cat([e0] + list(ec.values()), dim=1)
    n = e0.shape[1]
    owner = torch.arange(n).repeat(1 + len(ec))
    is_orig = torch.zeros(len(owner), dtype=torch.bool)
    is_orig[:n] = True
    pos, neg = [], []
    for s in range(0, allv.shape[1], 1024):
        d = E.view_distance(allv[:, s:s + 1024], allv)
        o = owner[s:s + 1024].unsqueeze(1)
        same = o == owner.unsqueeze(0)
        rows = torch.arange(s, min(s + 1024, allv.shape[1])).unsqueeze(1)
        upper = rows < torch.arange(allv.shape[1]).unsqueeze(0)
        orig_pair = is_orig[s:s + 1024].unsqueeze(1) | is_orig.unsqueeze(0)
        pos.append(d[same & upper & orig_pair])
        neg.append(d[~same & upper])
    return E.threshold_at_precision(torch.cat(pos).numpy(), torch.cat(neg).numpy())


def calibrate_similar(net, head, views, near_thr, size, max_distractors=0):
    """`similar` from dev-eval's real groups (only used for this threshold): the largest distance
    with pair precision >= 0.9 between same-group photos and other photos, not below nearDuplicate."""
    root = os.path.join(SHARED, 'dev-eval')
    spec_path = os.path.join(root, 'groups.json')
    if not os.path.exists(spec_path):
        return None
    with open(spec_path) as f:
        spec = json.load(f)
    paths, owner = [], []
    for gi, g in enumerate(spec['groups']):
        for p in g['photos']:
            paths.append(p)
            owner.append(gi)
    distractors = spec.get('distractors', [])
    if max_distractors and len(distractors) > max_distractors:
        distractors = random.Random(5).sample(distractors, max_distractors)
    for di, p in enumerate(distractors):
        paths.append(p if isinstance(p, str) else p['path'])
        owner.append(-1 - di)
    xs, own = [], []
    for p, o in zip(paths, owner):
        im = D.load_rgb(os.path.join(root, p))
        if im is not None:
            xs.append(D.to_tensor(im, size))
            own.append(o)
    e = E.embed(net, head, torch.stack(xs), views)
    d = E.view_distance(e, e)
    own = torch.tensor(own)
    same = own.unsqueeze(0) == own.unsqueeze(1)
    upper = torch.triu(torch.ones_like(same), diagonal=1)
    pos, neg = d[same & upper].numpy(), d[~same & upper].numpy()
    thr, rec = E.threshold_at_precision(pos, neg, 0.9)
    kinds = {}
    kind_of = {gi: g['kind'] for gi, g in enumerate(spec['groups'])}
    thr = max(thr, near_thr * 1.05)
    for k in sorted(set(kind_of.values())):
        m = torch.tensor([kind_of.get(int(o), None) == k for o in own])
        mask = same & upper & m.unsqueeze(0) & m.unsqueeze(1)
        kinds[k] = float((d[mask] <= thr).float().mean())
    fp = int((d[~same & upper] <= thr).sum())
    tp = int((d[same & upper] <= thr).sum())
    return {'threshold': thr, 'pair_recall': tp / max(1, len(pos)),
            'pair_precision': tp / max(1, tp + fp), 'recall_by_kind': kinds,
            'photos': len(own)}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--ckpt', default=os.path.join(HERE, 'runs/main/best.pt'))
    ap.add_argument('--version', default='v1')
    ap.add_argument('--views', default='auto',
                    help='comma-separated views shipped in the card, or auto (best measured)')
    ap.add_argument('--compare-views',
                    default='identity;identity,mirror;identity,mirror,rot90,rot180,rot270',
                    help='semicolon-separated view sets measured on the held-out benchmark')
    ap.add_argument('--eval-photos', type=int, default=300)
    ap.add_argument('--ort-images-per-second', type=float, default=None,
                    help='measured with bench_ort.js (batch 16, 2 threads), recorded in the card')
    ap.add_argument('--max-distractors', type=int, default=0,
                    help='dev-eval distractors used for the similar threshold (0: all)')
    ap.add_argument('--threads', type=int, default=2)
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    net, head, st = load_checkpoint(args.ckpt)
    size = st['args']['size']
    views = args.views.split(',')
    net_file = f'doppel-net-{args.version}.onnx'
    head_file = f'doppel-head-{args.version}.bin'
    net_path, head_path = os.path.join(MODELS, net_file), os.path.join(MODELS, head_file)

    export_onnx(net, net_path, size)
    write_head(head_path, head)
    head = read_head(head_path, net.feature_dims).eval()  # evaluate exactly what ships
    write_parity(net, os.path.join(MODELS, 'parity.json'), size, net_file)

    options = [tuple(v.split(',')) for v in args.compare_views.split(';')]
    if args.views != 'auto' and tuple(views) not in options:
        options.append(tuple(views))
    data_root = st['args']['data']
    ev = eval_holdout(net, head, data_root, size, options, args.eval_photos)
    if args.views == 'auto':
        # The view set with the best mean recall over every kind at its own shipped threshold.
        views = list(max(options, key=lambda o: np.mean(
            [r['recall_at_shipped'] for r in ev['+'.join(o)]['per_kind'].values()])))
    shipped = ev['+'.join(views)]
    similar = calibrate_similar(net, head, views, shipped['nearDuplicate'], size,
                                args.max_distractors)
    card = build_card(args, st, size, net, net_file, net_path, head_file, head_path, views,
                      shipped, similar, ev)
    with open(os.path.join(MODELS, 'doppel-card.json'), 'w') as f:
        json.dump(card, f, indent=2)
        f.write('\n')
    with open(os.path.join(HERE, 'runs', f'eval-{args.version}.json'), 'w') as f:
        json.dump({'holdout': ev, 'similar': similar}, f, indent=1)
    print(json.dumps(card['evaluation'], indent=1))


def _round(obj):
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v) for v in obj]
    return obj


def build_card(args, st, size, net, net_file, net_path, head_file, head_path, views, shipped,
               similar, ev):
    targs = st['args']
    near = shipped['nearDuplicate']
    sim = similar['threshold'] if similar else near * 1.5
    table = {}
    for k in ev['kinds']:
        row = {'phash_recall_at_p99': ev['phash'][k]['recall'], 'phash_auc': ev['phash'][k]['auc']}
        for name, res in ev.items():
            if isinstance(res, dict) and 'per_kind' in res:
                r = res['per_kind'][k]
                row[f'net[{name}]_recall_at_p99'] = r['recall']
                row[f'net[{name}]_recall_at_shipped'] = r['recall_at_shipped']
                row[f'net[{name}]_auc'] = r['auc']
        table[k] = row
    return {
        'name': 'doppel-deep-ranking',
        'networkVersion': f'doppel-net-{args.version}',
        'file': net_file,
        'sha256': sha256_file(net_path),
        'bytes': os.path.getsize(net_path),
        'input': {'name': 'input', 'size': size, 'layout': 'NCHW', 'mean': [0.0, 0.0, 0.0],
                  'std': [1.0, 1.0, 1.0], 'resize': 'fill', 'trimBorders': True},
        'output': {'name': 'features', 'dims': net.feature_dims},
        'head': {'file': head_file, 'version': f'doppel-head-{args.version}',
                 'inDims': net.feature_dims, 'outDims': 128, 'sha256': sha256_file(head_path)},
        'views': views,
        'thresholds': {'nearDuplicate': round(near, 4), 'similar': round(sim, 4)},
        'training': {
            'command': 'nice -n 10 bash models/train/train.sh',
            'resume': ('STAGE1_STEPS=<more> nice -n 10 bash models/train/train.sh: stage 1 '
                       'resumes from runs/main/last.pt (--resume), stage 2 reuses its cache'),
            'stage1': {'steps': st['step'], 'epochsCompleted': st['epoch'],
                       'note': 'backbone late blocks + shallow branches + head, augmented '
                               'triplets through the whole network'},
            'stage2': st.get('stage2'),
            'seed': targs['seed'],
            'manifestSha256': st['manifest_sha256'],
            'manifestFile': 'models/train/runs/main/manifest.json (gitignored, recreated by training)',
            'trainingFiles': 'datasets/train minus the hold-out listed in models/train/holdout.txt',
            'batchTriplets': targs['batch'], 'gap': targs['gap'], 'lr': targs['lr'],
            'backboneLr': targs['backbone_lr'], 'frozenBackboneBlocks': targs['freeze_until'],
            'unreadableSkipped': st.get('skipped', 0),
            'loss': 'mean over triplets of max(0, gap + D(q,p) - D(q,n)), batches q,p,n,...; '
                    'plus 0.5 x the same hinge over in-batch semi-hard negatives',
            'pretrained': {
                'source': 'npm nsfwjs@4.3.0, dist/models/mobilenet_v2 (TF.js Keras layers model, '
                          'uint8-quantised, dequantised as q*scale+min)',
                'licence': 'MIT (Copyright (c) 2019 Infinite Red, Inc.)',
                'trainedOn': 'Keras MobileNetV2 (width 1.0, 224 px) ImageNet weights, fine-tuned '
                             'by nsfwjs for 5 content classes; its classifier layers are dropped',
                'converter': 'models/train/doppel_train/tfjs_convert.py',
            },
        },
        'evaluation': _round({
            'heldOutPhotos': ev['photos'],
            'precisionTarget': 0.99,
            'pooledRecallAtNearDuplicate': shipped['pooled_recall'],
            'perKind': table,
            'similarCalibration': (dict(similar, note='dev-eval groups.json used ONLY to calibrate '
                                        'the similar threshold (pair precision >= 0.9)')
                                   if similar else None),
            'ortImagesPerSecondBatch16Threads2': args.ort_images_per_second,
            'note': 'Python figures on the synthetic held-out benchmark; npm run eval measures '
                    'through the app pipeline and may adjust thresholds.',
        }),
    }


if __name__ == '__main__':
    main()
