"""Tails above a cut: the same function as the model they come from, whatever trains."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from edgekit.errors import ConfigError
from edgekit.models import ARCHITECTURES, HeadConfig, KwsModel, build_model
from edgekit.models.tail import POOLED, Dense, LayerTrain, Shift


def _model(arch: str, seed: int = 0) -> KwsModel:
    """A model whose BatchNorms hold non-trivial statistics and affine parameters."""
    torch.manual_seed(seed)
    model = build_model(arch, head=HeadConfig(hidden=24, max_classes=6)).eval()
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            assert module.running_mean is not None and module.running_var is not None
            module.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            module.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)
    return model


def _logmel(batch: int = 3) -> torch.Tensor:
    return torch.randn(batch, 40, 101, generator=torch.Generator().manual_seed(1)) * 10 - 30


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_cut_computes_the_model(arch: str) -> None:
    model = _model(arch)
    logmel = _logmel()
    with torch.no_grad():
        expected = model.head(model.backbone(logmel))
        assert len(model.cut_points()) >= 2 and model.cut_points()[0] == POOLED
        for cut in model.cut_points():
            layers = model.tail(cut).layers()
            everything = {
                name: LayerTrain(rows=tuple(range(0, layer.n_out, 3)), bias=True)
                if layer.has_weight
                else LayerTrain(bias=True)
                for name, layer in layers.items()
            }
            for train in ({}, everything):
                tail = model.tail(cut, train)
                got = tail(*model.features_at(cut, logmel))
                torch.testing.assert_close(got, expected, atol=2e-5, rtol=1e-5)
            shapes = [shape for _, shape in model.feature_parts(cut)]
            assert [tuple(p.shape[1:]) for p in model.features_at(cut, logmel)] == shapes


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_a_deeper_cut_leaves_more_to_train(arch: str) -> None:
    model = _model(arch)
    pooled, deep = (set(model.tail(cut).layers()) for cut in model.cut_points()[:2])
    assert pooled == {"head.fc1", "head.fc2"} and pooled < deep
    assert model.tail(POOLED).classifier() == "head.fc2"


def test_only_the_planned_parts_are_parameters() -> None:
    weight, bias = torch.randn(5, 3), torch.randn(5)
    frozen = Dense(weight, bias)
    assert list(frozen.parameters()) == []
    rows = Dense(weight, bias, LayerTrain(rows=(4, 1), bias=False))
    names = {n: tuple(p.shape) for n, p in rows.named_parameters()}
    assert names == {"rows_t": (3, 2)}  # only rows 1 and 4, transposed: (in, rows)
    whole = Dense(weight, bias, LayerTrain(rows=tuple(range(5)), bias=True))
    assert {n for n, _ in whole.named_parameters()} == {"weight_t", "bias"}
    x = torch.randn(7, 3)
    for layer in (frozen, rows, whole):
        torch.testing.assert_close(layer(x), x @ weight.T + bias)
        torch.testing.assert_close(layer.full_weight(), weight)
    shift = Shift(bias, LayerTrain(bias=True))
    torch.testing.assert_close(shift(x[:, :1].expand(7, 5)), x[:, :1] + bias)


def test_trained_rows_go_back_to_their_place() -> None:
    weight = torch.zeros(4, 2)
    layer = Dense(weight, torch.zeros(4), LayerTrain(rows=(2,)))
    with torch.no_grad():
        layer.rows_t.fill_(1.0)
    full = layer.full_weight()
    assert full[2].tolist() == [1.0, 1.0] and float(full.abs().sum()) == 2.0


@pytest.mark.parametrize(
    ("rows", "message"), [((1, 1), "distinct"), ((-1,), "distinct"), ((9,), "out of range")]
)
def test_bad_rows_are_refused(rows: tuple[int, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Dense(torch.zeros(4, 2), torch.zeros(4), LayerTrain(rows=rows))


def test_unknown_cut_or_layer_is_a_clear_error() -> None:
    model = build_model("tcresnet")
    with pytest.raises(ConfigError, match="offers the cuts"):
        model.tail("block9")
    with pytest.raises(ConfigError, match="no layers"):
        model.tail(POOLED, {"block3.skip": LayerTrain(bias=True)})
    with pytest.raises(ConfigError, match="no weight rows"):
        Shift(torch.zeros(3), LayerTrain(rows=(0,)))
