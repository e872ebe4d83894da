"""Reads a TensorFlow.js Keras layers model (JSON topology + weight shards) into PyTorch tensors.

Written for the MobileNetV2 that the MIT-licensed `nsfwjs` npm package ships; it understands the
layer kinds that model uses and refuses anything else with a clear message.
"""
import json
import os

import numpy as np
import torch

_DTYPES = {'float32': np.float32, 'int32': np.int32, 'uint8': np.uint8, 'uint16': np.uint16}


def read_weights(model_json_path, weights_bin_path):
    """Returns {name: float32 ndarray} from a TF.js manifest, dequantising uint8/uint16 weights.

    Dequantisation follows the TF.js manifest: value = q * scale + min (affine quantisation).
    """
    with open(model_json_path) as f:
        model = json.load(f)
    with open(weights_bin_path, 'rb') as f:
        blob = f.read()
    out = {}
    offset = 0
    for group in model['weightsManifest']:
        for spec in group['weights']:
            shape = spec['shape']
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get('quantization')
            if quant:
                qdtype = _DTYPES[quant['dtype']]
                nbytes = count * np.dtype(qdtype).itemsize
                raw = np.frombuffer(blob, dtype=qdtype, count=count, offset=offset)
                if 'scale' in quant:
                    values = raw.astype(np.float64) * quant['scale'] + quant['min']
                else:
                    raise ValueError(f"{spec['name']}: unsupported quantisation {quant}")
            else:
                dtype = _DTYPES[spec['dtype']]
                nbytes = count * np.dtype(dtype).itemsize
                values = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
            out[spec['name']] = np.asarray(values, dtype=np.float32).reshape(shape)
            offset += nbytes
    if offset != len(blob):
        raise ValueError(f'manifest covers {offset} bytes but the shards hold {len(blob)}')
    return out, model['modelTopology']


def _layers(topology):
    return topology['model_config']['config']['layers']


def describe_mobilenet_v2(topology):
    """Returns the inverted-residual blocks of a Keras MobileNetV2 topology.

    Each block: dict(name, expand (bool), stride, out_channels, residual (bool)).
    """
    layers = {l['name']: l for l in _layers(topology)}
    blocks = []
    names = ['expanded_conv'] + [f'block_{i}' for i in range(1, 17)]
    for name in names:
        dw = layers.get(f'{name}_depthwise')
        proj = layers.get(f'{name}_project')
        if dw is None or proj is None:
            raise ValueError(f'topology lacks {name}: not the Keras MobileNetV2 layout')
        blocks.append(
            dict(
                name=name,
                expand=f'{name}_expand' in layers,
                stride=dw['config']['strides'][0],
                padded=f'{name}_pad' in layers,
                out_channels=proj['config']['filters'],
                residual=f'{name}_add' in layers,
            )
        )
    return blocks


def conv_weight(kernel):
    """Keras Conv2D kernel [kh, kw, in, out] -> torch [out, in, kh, kw]."""
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))


def depthwise_weight(kernel):
    """Keras DepthwiseConv2D kernel [kh, kw, in, mult] -> torch [in*mult, 1, kh, kw]."""
    kh, kw, cin, mult = kernel.shape
    t = kernel.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)
    return torch.from_numpy(np.ascontiguousarray(t))


def _load_bn(bn, weights, prefix):
    bn.weight.data.copy_(torch.from_numpy(weights[f'{prefix}/gamma']))
    bn.bias.data.copy_(torch.from_numpy(weights[f'{prefix}/beta']))
    bn.running_mean.data.copy_(torch.from_numpy(weights[f'{prefix}/moving_mean']))
    bn.running_var.data.copy_(torch.from_numpy(weights[f'{prefix}/moving_variance']))


def _convbn_parts(seq):
    conv = next(m for m in seq if isinstance(m, torch.nn.Conv2d))
    bn = next(m for m in seq if isinstance(m, torch.nn.BatchNorm2d))
    return conv, bn


def load_mobilenet_v2(net, weights, topology):
    """Copies Keras MobileNetV2 weights into net (a net.MobileNetV2); checks every shape.

    Returns the names of the Keras weights it did not use (the nsfwjs classifier's Dense layers).
    """
    blocks = describe_mobilenet_v2(topology)
    used = set()

    def take(name):
        used.add(name)
        return weights[name]

    def load(seq, conv_name, bn_name, depthwise=False):
        conv, bn = _convbn_parts(seq)
        k = take(f'{conv_name}/depthwise_kernel' if depthwise else f'{conv_name}/kernel')
        t = depthwise_weight(k) if depthwise else conv_weight(k)
        if tuple(t.shape) != tuple(conv.weight.shape):
            raise ValueError(f'{conv_name}: shape {tuple(t.shape)} vs {tuple(conv.weight.shape)}')
        conv.weight.data.copy_(t)
        for s in ('gamma', 'beta', 'moving_mean', 'moving_variance'):
            used.add(f'{bn_name}/{s}')
        _load_bn(bn, weights, bn_name)

    feats = net.features
    load(feats[0], 'Conv1', 'bn_Conv1')
    for i, blk in enumerate(blocks):
        mod = feats[1 + i]
        if mod.use_res != blk['residual'] or (blk['stride'] == 2) != blk['padded']:
            raise ValueError(f"{blk['name']}: residual/stride layout differs from torch model")
        parts = list(mod.conv)
        n = blk['name']
        if blk['expand']:
            load(parts.pop(0), f'{n}_expand', f'{n}_expand_BN')
        load(parts[0], f'{n}_depthwise', f'{n}_depthwise_BN', depthwise=True)
        load(parts[1], f'{n}_project', f'{n}_project_BN')
    load(feats[-1], 'Conv_1', 'Conv_1_bn')
    return sorted(set(weights) - used)


def load_dense_head(weights):
    """Returns the nsfwjs classifier (1280->256->128->5) as a torch module, for plausibility checks."""
    mods = []
    for i, name in enumerate(['dense_1', 'dense_2', 'dense_3']):
        k = weights[f'{name}/kernel']
        lin = torch.nn.Linear(k.shape[0], k.shape[1])
        lin.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(k.T)))
        lin.bias.data.copy_(torch.from_numpy(weights[f'{name}/bias']))
        mods.append(lin)
        if i < 2:
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods)


def load_nsfwjs_backbone(net, tfjs_dir):
    """Loads `<tfjs_dir>/model.json` + `weights.bin` (dumped by dump_nsfwjs.js) into net."""
    weights, topology = read_weights(os.path.join(tfjs_dir, 'model.json'),
                                     os.path.join(tfjs_dir, 'weights.bin'))
    unused = load_mobilenet_v2(net, weights, topology)
    return weights, unused
