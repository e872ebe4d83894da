"""Shapes of the multiscale network, the head file round trip, and the TF.js weight layouts."""
import json
import struct

import numpy as np
import pytest
import torch

from doppel_train.net import DoppelNet, Head, ShallowBranch, read_head, write_head
from doppel_train.tfjs_convert import conv_weight, depthwise_weight, read_weights


def test_shallow_branch_shapes():
    x = torch.rand(2, 3, 160, 160)
    b4 = ShallowBranch(160, 4, 16, 4)
    b8 = ShallowBranch(160, 8, 16, 4)
    assert b4(x).shape == (2, 256) and b4.out_dims == 256
    assert b8(x).shape == (2, 256) and b8.out_dims == 256


def test_shallow_branch_refuses_a_size_it_cannot_pool_evenly():
    with pytest.raises(ValueError, match='grid'):
        ShallowBranch(150, 8, 16, 4)


def test_features_are_scaled_unit_branches():
    torch.manual_seed(0)
    net = DoppelNet(size=160).eval()
    # He-initialised convs keep the untrained trunk's activations at a normal scale.
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight)
    with torch.no_grad():
        f = net(torch.rand(3, 3, 160, 160))
    assert f.shape == (3, net.feature_dims) and net.feature_dims == 1280 + 256 + 256
    norms = [f[:, :1280].norm(dim=1), f[:, 1280:1536].norm(dim=1), f[:, 1536:].norm(dim=1)]
    for norm, scale in zip(norms, net.branch_scale.tolist()):
        assert torch.allclose(norm, torch.full_like(norm, abs(scale)), atol=1e-5)


def test_head_file_round_trip(tmp_path):
    torch.manual_seed(0)
    head = Head(10, 4)
    path = tmp_path / 'head.bin'
    write_head(path, head)
    raw = path.read_bytes()
    assert len(raw) == 4 * (4 * 10 + 4)
    # Layout: weight row-major [out][in], then bias, little-endian float32.
    assert struct.unpack('<f', raw[4 * 13:4 * 14])[0] == pytest.approx(float(head.fc.weight[1, 3]))
    assert struct.unpack('<f', raw[4 * 40:4 * 41])[0] == pytest.approx(float(head.fc.bias[0]))
    back = read_head(path, 10, 4)
    assert torch.equal(back.fc.weight, head.fc.weight)
    assert torch.equal(back.fc.bias, head.fc.bias)
    x = torch.randn(5, 10)
    out = back(x)
    assert torch.allclose(out.norm(dim=1), torch.ones(5), atol=1e-6)
    with pytest.raises(ValueError, match='expected'):
        read_head(path, 11, 4)


def test_keras_kernels_map_to_torch_layouts():
    k = np.arange(3 * 3 * 2 * 5, dtype=np.float32).reshape(3, 3, 2, 5)  # [kh, kw, in, out]
    t = conv_weight(k)
    assert t.shape == (5, 2, 3, 3) and float(t[4, 1, 2, 0]) == k[2, 0, 1, 4]
    d = np.arange(3 * 3 * 4 * 1, dtype=np.float32).reshape(3, 3, 4, 1)  # [kh, kw, in, mult]
    td = depthwise_weight(d)
    assert td.shape == (4, 1, 3, 3) and float(td[3, 0, 1, 2]) == d[1, 2, 3, 0]


def test_read_weights_dequantises_uint8(tmp_path):
    manifest = {'modelTopology': {}, 'weightsManifest': [{'paths': ['x'], 'weights': [
        {'name': 'a', 'shape': [2, 2], 'dtype': 'float32',
         'quantization': {'dtype': 'uint8', 'scale': 0.5, 'min': -1.0}},
        {'name': 'b', 'shape': [2], 'dtype': 'float32'},
    ]}]}
    (tmp_path / 'model.json').write_text(json.dumps(manifest))
    blob = bytes([0, 1, 2, 255]) + struct.pack('<2f', 1.5, -2.0)
    (tmp_path / 'w.bin').write_bytes(blob)
    w, _ = read_weights(tmp_path / 'model.json', tmp_path / 'w.bin')
    assert w['a'].tolist() == [[-1.0, -0.5], [0.0, 126.5]]
    assert w['b'].tolist() == [1.5, -2.0]
    (tmp_path / 'w.bin').write_bytes(blob + b'\0\0\0\0')
    with pytest.raises(ValueError, match='manifest covers'):
        read_weights(tmp_path / 'model.json', tmp_path / 'w.bin')
