/**
 * Builds, in memory, the two one-node ONNX graphs the head needs (z = X W^T + b, and the weight
 * gradient G^T X), so onnxruntime's matrix kernels can run them without a model file. Writes the
 * few protobuf fields ONNX needs by hand rather than pulling in a protobuf library for 200 bytes.
 */

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const ONNX_FLOAT = 1;
const ATTRIBUTE_INT = 2;
/** IR version 7 and opset 13: old enough for every onnxruntime we ship, new enough for Gemm without C. */
const IR_VERSION = 7;
const OPSET = 13;

/** Names of the inputs and output of `linearGraph`. */
export const LINEAR_IO = {
  features: 'features',
  weight: 'weight',
  bias: 'bias',
  output: 'z',
} as const;
/** Names of the inputs and output of `weightGradientGraph`. */
export const WEIGHT_GRADIENT_IO = {
  gradZ: 'grad_z',
  features: 'features',
  output: 'grad_weight',
} as const;

/** A graph computing z[n, out] = features[n, in] x weight[out, in]^T + bias[out]. */
export function linearGraph(): Uint8Array {
  const io = LINEAR_IO;
  return model('doppel-head-linear', {
    inputs: [
      tensorInfo(io.features, ['n', 'in']),
      tensorInfo(io.weight, ['out', 'in']),
      tensorInfo(io.bias, ['out']),
    ],
    outputs: [tensorInfo(io.output, ['n', 'out'])],
    node: gemm([io.features, io.weight, io.bias], io.output, { transB: 1 }),
  });
}

/** A graph computing grad_weight[out, in] = grad_z[k, out]^T x features[k, in]. */
export function weightGradientGraph(): Uint8Array {
  const io = WEIGHT_GRADIENT_IO;
  return model('doppel-head-weight-gradient', {
    inputs: [tensorInfo(io.gradZ, ['k', 'out']), tensorInfo(io.features, ['k', 'in'])],
    outputs: [tensorInfo(io.output, ['out', 'in'])],
    node: gemm([io.gradZ, io.features], io.output, { transA: 1 }),
  });
}

interface GraphParts {
  inputs: Uint8Array[];
  outputs: Uint8Array[];
  node: Uint8Array;
}

function model(name: string, parts: GraphParts): Uint8Array {
  const graph = concat([
    bytesField(1, parts.node),
    stringField(2, name),
    ...parts.inputs.map((i) => bytesField(11, i)),
    ...parts.outputs.map((o) => bytesField(12, o)),
  ]);
  const opset = concat([stringField(1, ''), varintField(2, OPSET)]);
  return concat([
    varintField(1, IR_VERSION),
    stringField(2, 'doppel'),
    bytesField(7, graph),
    bytesField(8, opset),
  ]);
}

function gemm(inputs: string[], output: string, attrs: Record<string, number>): Uint8Array {
  return concat([
    ...inputs.map((i) => stringField(1, i)),
    stringField(2, output),
    stringField(3, 'gemm'),
    stringField(4, 'Gemm'),
    ...Object.entries(attrs).map(([key, value]) =>
      bytesField(
        5,
        concat([stringField(1, key), varintField(3, value), varintField(20, ATTRIBUTE_INT)]),
      ),
    ),
  ]);
}

/** A float tensor ValueInfoProto with symbolic dimensions. */
function tensorInfo(name: string, dims: string[]): Uint8Array {
  const shape = concat(dims.map((d) => bytesField(1, stringField(2, d))));
  const tensorType = concat([varintField(1, ONNX_FLOAT), bytesField(2, shape)]);
  return concat([stringField(1, name), bytesField(2, bytesField(1, tensorType))]);
}

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function varintField(field: number, value: number): Uint8Array {
  return Uint8Array.from([...varint((field << 3) | WIRE_VARINT), ...varint(value)]);
}

function bytesField(field: number, payload: Uint8Array): Uint8Array {
  return concat([
    Uint8Array.from([...varint((field << 3) | WIRE_BYTES), ...varint(payload.length)]),
    payload,
  ]);
}

function stringField(field: number, text: string): Uint8Array {
  return bytesField(field, new TextEncoder().encode(text));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
