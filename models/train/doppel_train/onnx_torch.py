"""A small ONNX interpreter in PyTorch, for the ops our exported network uses.

onnxruntime for Python is not packaged by Debian, so the parity test runs the ONNX file through
this instead; an op outside the list raises NotImplementedError naming it.
"""
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

_ONNX_DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 11: torch.float64}


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _tensor(t):
    return torch.from_numpy(np.array(numpy_helper.to_array(t)))


def _pad(x, pads, value):
    # ONNX pads: [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; torch wants last dim first.
    n = x.dim()
    begins, ends = pads[:n], pads[n:]
    tp = []
    for d in reversed(range(n)):
        tp += [int(begins[d]), int(ends[d])]
    return F.pad(x, tp, value=value)


def _slice(x, starts, ends, axes, steps):
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    idx = [slice(None)] * x.dim()
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = int(a) % x.dim()
        size = x.shape[a]
        s, e, st = int(s), int(e), int(st)
        if st > 0:
            s = max(0, min(size, s + size if s < 0 else s))
            e = max(0, min(size, e + size if e < 0 else e))
            idx[a] = slice(s, e, st)
        else:
            # Negative steps: materialise with flip (used by torch's pad export to reverse lists).
            s = max(-1, min(size - 1, s + size if s < 0 else s))
            e = max(-1, min(size - 1, e + size if e < 0 else e))
            rng = list(range(s, e, st))
            x = x.index_select(a, torch.tensor(rng, dtype=torch.long))
            idx[a] = slice(None)
    return x[tuple(idx)]


def _pool_pads(at, k):
    p = at.get('pads', [0] * (2 * len(k)))
    if p[:len(k)] != p[len(k):]:
        raise NotImplementedError('asymmetric pooling pads')
    return p[:len(k)]


def run_onnx(model_path, feeds):
    """Runs the ONNX graph on {input name: torch tensor}; returns {output name: tensor}."""
    model = onnx.load(model_path)
    env = {i.name: _tensor(i) for i in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        ins = [env[n] if n else None for n in node.input]
        at = _attrs(node)
        op = node.op_type
        if op == 'Constant':
            out = _tensor(at['value'])
        elif op == 'Identity':
            out = ins[0]
        elif op == 'Conv':
            k = at.get('kernel_shape')
            pads = at.get('pads', [0] * 4)
            x = ins[0]
            if pads[:2] != pads[2:]:
                x = _pad(x, [0, 0] + pads[:2] + [0, 0] + pads[2:], 0.0)
                pads = [0, 0, 0, 0]
            out = F.conv2d(x, ins[1], ins[2] if len(ins) > 2 else None, at.get('strides', 1),
                           pads[:2], at.get('dilations', 1), at.get('group', 1))
            assert k is None or list(ins[1].shape[2:]) == list(k)
        elif op == 'Clip':
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else None
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else None
            out = ins[0]
            if lo is not None:
                out = torch.maximum(out, lo)
            if hi is not None:
                out = torch.minimum(out, hi)
        elif op == 'Relu':
            out = F.relu(ins[0])
        elif op in ('Add', 'Mul', 'Div', 'Sub'):
            a, b = ins
            out = {'Add': a + b, 'Mul': a * b, 'Sub': a - b}.get(op) if op != 'Div' else (
                torch.div(a, b, rounding_mode='trunc') if not a.is_floating_point() else a / b)
        elif op == 'Sqrt':
            out = torch.sqrt(ins[0])
        elif op == 'Reshape':
            shape = [int(s) for s in ins[1].tolist()]
            shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
            out = ins[0].reshape(shape)
        elif op == 'Flatten':
            out = torch.flatten(ins[0], at.get('axis', 1))
        elif op == 'Concat':
            out = torch.cat(ins, dim=at['axis'])
        elif op == 'Transpose':
            out = ins[0].permute(*at['perm'])
        elif op == 'Cast':
            out = ins[0].to(_ONNX_DTYPES[at['to']])
        elif op == 'ConstantOfShape':
            v = _tensor(at['value']) if 'value' in at else torch.zeros(1)
            out = torch.full([int(s) for s in ins[0].tolist()], v.item(), dtype=v.dtype)
        elif op == 'Slice':
            out = _slice(ins[0], ins[1].tolist(), ins[2].tolist(),
                         ins[3].tolist() if len(ins) > 3 and ins[3] is not None else None,
                         ins[4].tolist() if len(ins) > 4 and ins[4] is not None else None)
        elif op == 'Pad':
            if at.get('mode', b'constant') not in (b'constant', 'constant'):
                raise NotImplementedError(f"Pad mode {at['mode']}")
            value = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
            out = _pad(ins[0], [int(p) for p in ins[1].tolist()], value)
        elif op in ('ReduceSum', 'ReduceMean'):
            axes = at.get('axes') if 'axes' in at else (ins[1].tolist() if len(ins) > 1 else None)
            keep = bool(at.get('keepdims', 1))
            fn = torch.sum if op == 'ReduceSum' else torch.mean
            out = fn(ins[0], dim=tuple(axes), keepdim=keep) if axes else fn(ins[0])
        elif op in ('AveragePool', 'MaxPool'):
            k = at['kernel_shape']
            s = at.get('strides', [1] * len(k))
            p = _pool_pads(at, k)
            if op == 'MaxPool':
                out = F.max_pool2d(ins[0], k, s, p, ceil_mode=bool(at.get('ceil_mode', 0)))
            else:
                out = F.avg_pool2d(ins[0], k, s, p, ceil_mode=bool(at.get('ceil_mode', 0)),
                                   count_include_pad=bool(at.get('count_include_pad', 0)))
        elif op in ('Gather', 'Unsqueeze', 'Squeeze', 'Shape'):
            out = _misc(op, ins, at)
        else:
            raise NotImplementedError(f'ONNX op {op} is not interpreted')
        env[node.output[0]] = out
    return {o.name: env[o.name] for o in model.graph.output}


def _misc(op, ins, at):
    if op == 'Shape':
        return torch.tensor(list(ins[0].shape), dtype=torch.int64)
    if op == 'Gather':
        return torch.index_select(ins[0], at.get('axis', 0), ins[1].reshape(-1).long()).reshape(
            list(ins[0].shape[:at.get('axis', 0)]) + list(ins[1].shape)
            + list(ins[0].shape[at.get('axis', 0) + 1:]))
    axes = at.get('axes') if 'axes' in at else ins[1].tolist()
    x = ins[0]
    if op == 'Unsqueeze':
        for a in sorted(int(a) % (x.dim() + len(axes)) for a in axes):
            x = x.unsqueeze(a)
        return x
    for a in sorted((int(a) % x.dim() for a in axes), reverse=True):
        x = x.squeeze(a)
    return x
