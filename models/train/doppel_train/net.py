"""The multiscale deep-ranking network: a MobileNetV2 branch plus two shallow low-resolution branches.

FEATURES = concat(w_0 * l2(mobilenet_pool), w_1 * l2(shallow_4x), w_2 * l2(shallow_8x)); the HEAD
(a linear layer applied by the app, then L2 normalisation) maps them to the 128-d embedding.
"""
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

EMBED_DIMS = 128


def l2n(x, eps=1e-12):
    """Row-wise L2 normalisation written with ops that export plainly to ONNX."""
    return x / torch.sqrt((x * x).sum(dim=1, keepdim=True) + eps)


class ConvBN(nn.Sequential):
    """Conv (no bias) + BatchNorm (Keras eps 1e-3) + optional ReLU6, Keras-style explicit padding."""

    def __init__(self, cin, cout, k, stride, groups=1, relu=True, pad=None):
        layers = []
        if pad is not None:
            layers.append(nn.ZeroPad2d(pad))
            conv_pad = 0
        else:
            conv_pad = k // 2
        layers.append(nn.Conv2d(cin, cout, k, stride, conv_pad, groups=groups, bias=False))
        layers.append(nn.BatchNorm2d(cout, eps=1e-3))
        if relu:
            layers.append(nn.ReLU6())
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block; stride-2 blocks pad (0,1,0,1) like Keras' ZeroPadding2D ((0,1),(0,1))."""

    def __init__(self, cin, cout, stride, expand_ratio):
        super().__init__()
        hidden = cin * expand_ratio
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand_ratio != 1:
            layers.append(ConvBN(cin, hidden, 1, 1))
        pad = (0, 1, 0, 1) if stride == 2 else None
        layers.append(ConvBN(hidden, hidden, 3, stride, groups=hidden, pad=pad))
        layers.append(ConvBN(hidden, cout, 1, 1, relu=False))
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.use_res else y


# (expand ratio, out channels, repeats, first stride): MobileNetV2, width 1.0.
MNV2_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                 (6, 160, 3, 2), (6, 320, 1, 1)]


class MobileNetV2(nn.Module):
    """torchvision-like MobileNetV2 trunk (features[0..18]) returning the pooled 1280-d vector."""

    def __init__(self):
        super().__init__()
        feats = [ConvBN(3, 32, 3, 2, pad=(0, 1, 0, 1))]
        cin = 32
        for t, c, n, s in MNV2_SETTINGS:
            for i in range(n):
                feats.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        feats.append(ConvBN(cin, 1280, 1, 1))
        self.features = nn.Sequential(*feats)

    def forward(self, x):
        return self.features(x).mean(dim=(2, 3))


class ShallowBranch(nn.Module):
    """Deep Ranking's shallow branch: downsample by `factor`, conv + max-pool to a coarse grid.

    It keeps colour and coarse layout that the deep branch pools away. Fixed kernel sizes keep the
    ONNX graph simple; the grid is `grid` x `grid` for the input size it was built for.
    """

    def __init__(self, size, factor, channels, grid):
        # Limitation: the max-pool kernel is fixed for one input side, so a network exported for
        # 160 px only accepts 160 px inputs (the card states the size the app must feed).
        super().__init__()
        self.factor = factor
        side = size // factor
        if side % grid:
            raise ValueError(f'input side {size}/{factor}={side} is not a multiple of grid {grid}')
        self.conv1 = nn.Conv2d(3, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.pool = nn.MaxPool2d(side // grid, side // grid)
        self.out_dims = channels * grid * grid

    def forward(self, x):
        x = F.avg_pool2d(x, self.factor, self.factor)
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return torch.flatten(self.pool(x), 1)


class DoppelNet(nn.Module):
    """Multiscale network; forward returns FEATURES [N, F] (the ONNX output `features`)."""

    def __init__(self, size=160, shallow_channels=16, grid=4):
        super().__init__()
        self.size = size
        self.backbone = MobileNetV2()
        self.shallow4 = ShallowBranch(size, 4, shallow_channels, grid)
        self.shallow8 = ShallowBranch(size, 8, shallow_channels, grid)
        # Learned per-branch weights: how much each scale counts in the Euclidean distance.
        self.branch_scale = nn.Parameter(torch.tensor([1.0, 0.5, 0.5]))
        self.feature_dims = 1280 + self.shallow4.out_dims + self.shallow8.out_dims

    def forward(self, x):
        a = l2n(self.backbone(x)) * self.branch_scale[0]
        b = l2n(self.shallow4(x)) * self.branch_scale[1]
        c = l2n(self.shallow8(x)) * self.branch_scale[2]
        return torch.cat([a, b, c], dim=1)


class Head(nn.Module):
    """Linear F->128 then L2 normalisation; the app applies the same maths from the head file."""

    def __init__(self, in_dims, out_dims=EMBED_DIMS):
        super().__init__()
        self.fc = nn.Linear(in_dims, out_dims)

    def forward(self, feats):
        return l2n(self.fc(feats))


def write_head(path, head):
    """Writes the head as little-endian float32: weight row-major [out][in], then bias [out]."""
    w = head.fc.weight.detach().to(torch.float32).contiguous().view(-1).tolist()
    b = head.fc.bias.detach().to(torch.float32).contiguous().view(-1).tolist()
    with open(path, 'wb') as f:
        f.write(struct.pack(f'<{len(w)}f', *w))
        f.write(struct.pack(f'<{len(b)}f', *b))


def read_head(path, in_dims, out_dims=EMBED_DIMS):
    """Reads a head file written by write_head; raises ValueError when its size does not match."""
    with open(path, 'rb') as f:
        data = f.read()
    expected = 4 * (out_dims * in_dims + out_dims)
    if len(data) != expected:
        raise ValueError(f'head file has {len(data)} bytes, expected {expected} for {in_dims}->{out_dims}')
    vals = struct.unpack(f'<{out_dims * in_dims + out_dims}f', data)
    head = Head(in_dims, out_dims)
    with torch.no_grad():
        head.fc.weight.copy_(torch.tensor(vals[: out_dims * in_dims]).view(out_dims, in_dims))
        head.fc.bias.copy_(torch.tensor(vals[out_dims * in_dims:]))
    return head
