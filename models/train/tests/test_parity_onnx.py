"""The shipped ONNX network reproduces models/parity.json (PyTorch features) within 1e-4."""
import json
import os

import pytest
import torch

from doppel_train.onnx_torch import run_onnx
from doppel_train.parity import check_formula_point, parity_input

MODELS = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))


def load_fixture():
    path = os.path.join(MODELS, 'parity.json')
    if not os.path.exists(path):
        pytest.skip(f'no parity fixture at {path}: export a model first')
    with open(path) as f:
        return json.load(f)


def test_formula_matches_its_description():
    x = parity_input(2, 16)
    for b, c, i, j in [(0, 0, 0, 0), (1, 2, 15, 3), (0, 1, 7, 15), (1, 0, 3, 9)]:
        assert check_formula_point(x, b, c, i, j)


def test_onnx_matches_fixture():
    fx = load_fixture()
    onnx_path = os.path.join(MODELS, fx['onnx'])
    if not os.path.exists(onnx_path):
        pytest.fail(f"parity.json names {fx['onnx']} but models/ does not hold it")
    n, _, size, _ = fx['shape']
    out = run_onnx(onnx_path, {fx['input']: parity_input(n, size)})[fx['output']]
    expected = torch.tensor(fx['features'], dtype=torch.float32)
    assert out.shape == expected.shape
    assert float((out - expected).abs().max()) <= fx['tolerance']


def test_card_describes_the_shipped_files():
    path = os.path.join(MODELS, 'doppel-card.json')
    if not os.path.exists(path):
        pytest.skip('no model card yet')
    with open(path) as f:
        card = json.load(f)
    import hashlib
    for name, digest, size in [(card['file'], card['sha256'], card['bytes']),
                               (card['head']['file'], card['head']['sha256'], None)]:
        with open(os.path.join(MODELS, name), 'rb') as f:
            data = f.read()
        assert hashlib.sha256(data).hexdigest() == digest, name
        if size is not None:
            assert len(data) == size
    head_bytes = os.path.getsize(os.path.join(MODELS, card['head']['file']))
    assert head_bytes == 4 * (card['head']['outDims'] * card['head']['inDims']
                              + card['head']['outDims'])
    assert card['output']['dims'] == card['head']['inDims']
    assert card['thresholds']['nearDuplicate'] < card['thresholds']['similar']
