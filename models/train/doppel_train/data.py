"""Photo listing, the deterministic hold-out split, the app's preprocessing and the edit kinds."""
import hashlib
import io
import math
import os
import random

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.webp')
HOLDOUT_PERCENT = 15
TRIM_THRESHOLD = 10


def list_photos(root):
    """Returns sorted relative paths (posix) of the photos under root."""
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.lower().endswith(IMAGE_EXTS):
                out.append(os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, '/'))
    return sorted(out)


def is_holdout(rel):
    """True for the ~15% of files (by sha256 of the relative path) that training never sees."""
    h = int(hashlib.sha256(rel.encode('utf-8')).hexdigest()[:8], 16)
    return h % 100 < HOLDOUT_PERCENT


def class_of(rel):
    """The class folder of a photo (`source/class`), used for same-category hard negatives."""
    return rel.rsplit('/', 1)[0]


def load_rgb(path):
    """Decodes a photo to upright RGB; returns None (the caller counts it) when it is unreadable."""
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            return im.convert('RGB')
    except Exception:  # noqa: BLE001 - any decode failure means "skip and count"
        return None


def trim_borders(im, threshold=TRIM_THRESHOLD):
    """Crops uniform borders: background = top-left pixel; keeps the bounding box of pixels whose
    any channel differs from it by more than `threshold` (like sharp's trim). Returns im unchanged
    when that box is empty or covers less than 10% of either side."""
    # Limitation: only borders of the top-left pixel's colour are trimmed; a letterbox whose
    # top-left corner is covered by a logo or a gradient is left as it is.
    a = np.asarray(im, dtype=np.int16)
    diff = np.abs(a - a[0, 0]).max(axis=2) > threshold
    rows = np.flatnonzero(diff.any(axis=1))
    cols = np.flatnonzero(diff.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return im
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if (bottom - top) < 0.1 * a.shape[0] or (right - left) < 0.1 * a.shape[1]:
        return im
    if top == 0 and left == 0 and bottom == a.shape[0] and right == a.shape[1]:
        return im
    return im.crop((int(left), int(top), int(right), int(bottom)))


def to_tensor(im, size, trim=True):
    """The app's preprocessing: optional border trim, `fill` resize to size x size (bilinear),
    RGB scaled to [0, 1] (mean 0, std 1). Returns float32 [3, size, size]."""
    if trim:
        im = trim_borders(im)
    im = im.resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


# ---- edit kinds: each takes (PIL RGB, random.Random) and returns PIL RGB ----

def edit_resize(im, r):
    s = r.uniform(0.3, 0.8)
    w, h = im.size
    return im.resize((max(16, int(w * s)), max(16, int(h * s))), Image.BILINEAR)


def edit_jpeg(im, r, quality=None):
    buf = io.BytesIO()
    im.save(buf, 'JPEG', quality=quality or r.randint(25, 85))
    buf.seek(0)
    return Image.open(buf).convert('RGB')


def edit_crop(im, r, lo=0.6, hi=0.95):
    """Keeps a random window of lo..hi of the area (aspect jittered)."""
    w, h = im.size
    area = r.uniform(lo, hi)
    aspect = r.uniform(0.85, 1.15)
    cw = min(w, int(round(w * math.sqrt(area * aspect))))
    ch = min(h, int(round(h * math.sqrt(area / aspect))))
    x = r.randint(0, w - cw)
    y = r.randint(0, h - ch)
    return im.crop((x, y, x + cw, y + ch))


def edit_small_rotation(im, r, deg=None):
    """Rotates 1-5 degrees either way and crops to the largest axis-aligned inner rectangle."""
    d = deg if deg is not None else r.uniform(1, 5) * r.choice([-1, 1])
    w, h = im.size
    rot = im.rotate(d, resample=Image.BILINEAR, expand=False)
    a = math.radians(abs(d))
    # Inner rectangle of a w x h rotated by a (same aspect), conservative formula.
    scale = 1.0 / (math.cos(a) + max(w / h, h / w) * math.sin(a))
    cw, ch = int(w * scale), int(h * scale)
    x, y = (w - cw) // 2, (h - ch) // 2
    return rot.crop((x, y, x + cw, y + ch))


def edit_perspective(im, r):
    w, h = im.size
    m = 0.08
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = [(x + r.uniform(-m, m) * w, y + r.uniform(-m, m) * h) for x, y in src]
    # PIL wants coefficients mapping output -> input.
    A, B = [], []
    for (x, y), (u, v) in zip(src, dst):
        A.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        A.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        B += [u, v]
    coeffs = np.linalg.solve(np.array(A, dtype=np.float64), np.array(B, dtype=np.float64))
    out = im.transform((w, h), Image.PERSPECTIVE, tuple(coeffs), Image.BILINEAR)
    return edit_crop(out, r, 0.8, 0.9) if r.random() < 0.5 else out


def edit_mirror(im, _r):
    return ImageOps.mirror(im)


def edit_rot90(im, _r):
    return im.transpose(Image.ROTATE_90)


def edit_rot180(im, _r):
    return im.transpose(Image.ROTATE_180)


def edit_rot270(im, _r):
    return im.transpose(Image.ROTATE_270)


def edit_grey(im, _r):
    return ImageOps.grayscale(im).convert('RGB')


def edit_colour(im, r):
    im = ImageEnhance.Brightness(im).enhance(r.uniform(0.6, 1.5))
    im = ImageEnhance.Contrast(im).enhance(r.uniform(0.6, 1.5))
    if r.random() < 0.5:
        im = ImageEnhance.Color(im).enhance(r.uniform(0.5, 1.6))
    return im


_WORDS = ['DOPPEL', 'SAMPLE', '(c) 2024', 'holiday', 'PROOF', 'photo.example', 'IMG_0042', 'Draft']


def edit_watermark(im, r):
    """Overlays semi-transparent text (and sometimes a box) somewhere on the photo."""
    w, h = im.size
    text = r.choice(_WORDS)
    font = ImageFont.load_default()
    tw, th = font.getbbox(text)[2:]
    layer = Image.new('RGBA', (tw + 4, th + 4), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((2, 2), text, font=font, fill=(255, 255, 255, 255))
    target_w = int(w * r.uniform(0.25, 0.7))
    layer = layer.resize((target_w, max(4, int(layer.size[1] * target_w / layer.size[0]))),
                         Image.BILINEAR)
    colour = r.choice([(255, 255, 255), (0, 0, 0), (255, 220, 0)])
    alpha = layer.split()[3].point(lambda v: int(v * r.uniform(0.5, 0.9)))
    solid = Image.new('RGB', layer.size, colour)
    x = r.randint(0, max(0, w - layer.size[0]))
    y = r.randint(0, max(0, h - layer.size[1]))
    out = im.copy()
    out.paste(solid, (x, y), alpha)
    return out


def edit_letterbox(im, r):
    """Pads to another aspect ratio with a uniform black or white border."""
    w, h = im.size
    colour = r.choice([(0, 0, 0), (255, 255, 255)])
    if r.random() < 0.5:
        nw, nh = w, int(h * r.uniform(1.2, 1.6))
    else:
        nw, nh = int(w * r.uniform(1.2, 1.6)), h
    canvas = Image.new('RGB', (nw, nh), colour)
    canvas.paste(im, ((nw - w) // 2, (nh - h) // 2))
    return canvas


def edit_crop80(im, r):
    return edit_crop(im, r, 0.78, 0.82)


def edit_crop60(im, r):
    return edit_crop(im, r, 0.58, 0.62)


def edit_rot3(im, r):
    return edit_small_rotation(im, r, 3.0 * r.choice([-1, 1]))


EDITS = {
    'resize': edit_resize, 'jpeg': edit_jpeg, 'crop': edit_crop, 'rotate_small': edit_small_rotation,
    'perspective': edit_perspective, 'mirror': edit_mirror, 'rot90': edit_rot90,
    'rot180': edit_rot180, 'rot270': edit_rot270, 'grey': edit_grey, 'colour': edit_colour,
    'watermark': edit_watermark, 'letterbox': edit_letterbox,
}

# Training mix: weights of the kinds drawn for a positive (geometric flips/turns included so the
# net learns some of that invariance itself).
TRAIN_WEIGHTS = {
    'resize': 1.0, 'jpeg': 1.0, 'crop': 2.0, 'rotate_small': 1.0, 'perspective': 1.0,
    'mirror': 1.0, 'rot90': 0.5, 'rot180': 0.5, 'rot270': 0.5, 'grey': 1.0, 'colour': 1.5,
    'watermark': 1.0, 'letterbox': 0.7,
}

# Held-out benchmark kinds (fixed strengths match the goals).
EVAL_KINDS = {
    'resize': edit_resize, 'jpeg': lambda im, r: edit_jpeg(im, r, 50),
    'colour': edit_colour, 'grey': edit_grey, 'watermark': edit_watermark,
    'rotate3': edit_rot3, 'crop80': edit_crop80, 'crop60': edit_crop60, 'mirror': edit_mirror,
    'letterbox': edit_letterbox, 'rot90': edit_rot90, 'rot180': edit_rot180,
    'rot270': edit_rot270, 'perspective': edit_perspective,
}


def random_positive(im, r):
    """A positive view: 1-3 edits drawn from TRAIN_WEIGHTS, often followed by a JPEG re-encode."""
    kinds = list(TRAIN_WEIGHTS)
    weights = [TRAIN_WEIGHTS[k] for k in kinds]
    n = r.choice([1, 1, 2, 2, 3])
    for kind in r.choices(kinds, weights, k=n):
        im = EDITS[kind](im, r)
    if r.random() < 0.4:
        im = edit_jpeg(im, r)
    return im


def light_view(im, r):
    """The anchor or negative view: mostly the photo itself, sometimes re-encoded or resized."""
    x = r.random()
    if x < 0.2:
        return edit_jpeg(im, r)
    if x < 0.35:
        return edit_resize(im, r)
    return im


class TripletSet(torch.utils.data.Dataset):
    """Yields (q, p, n) tensors and their photo indices (i, i, j): q a light view of photo i, p an edited view of it, n another photo
    (half the time from the same class folder). Unreadable photos yield None (skipped, counted)."""

    def __init__(self, root, rels, size, seed, hard_fraction=0.5):
        self.root, self.rels, self.size, self.seed = root, rels, size, seed
        self.hard_fraction = hard_fraction
        self.by_class = {}
        for i, rel in enumerate(rels):
            self.by_class.setdefault(class_of(rel), []).append(i)
        self.epoch = 0

    def __len__(self):
        return len(self.rels)

    def __getitem__(self, i):
        r = random.Random(hash((self.seed, self.epoch, i)) & 0xFFFFFFFF)
        anchor = load_rgb(os.path.join(self.root, self.rels[i]))
        same = self.by_class[class_of(self.rels[i])]
        if len(same) > 1 and r.random() < self.hard_fraction:
            j = r.choice([k for k in same if k != i])
        else:
            j = r.randrange(len(self.rels) - 1)
            j = j + 1 if j >= i else j
        other = load_rgb(os.path.join(self.root, self.rels[j]))
        if anchor is None or other is None:
            return None
        q = to_tensor(light_view(anchor, r), self.size)
        p = to_tensor(random_positive(anchor, r), self.size)
        n = to_tensor(light_view(other, r), self.size)
        return torch.stack([q, p, n]), (i, i, j)


def collate_triplets(items):
    """Interleaves triplets as q, p, n, q, p, n, ...; counts the skipped (unreadable) ones."""
    good = [it for it in items if it is not None]
    skipped = len(items) - len(good)
    if not good:
        return None, None, skipped
    x = torch.cat([g[0] for g in good], dim=0)
    ids = torch.tensor([k for g in good for k in g[1]])
    return x, ids, skipped
