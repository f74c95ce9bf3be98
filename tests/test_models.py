import pytest
import torch

from rnalabel.errors import ConfigError
from rnalabel.models import MODELS, InputSpec, build_model, config_to_dict


def inputs(length=101, extra=0):
    specs = [InputSpec("seq", "position", 4, length)]
    if extra:
        specs.append(InputSpec("struct", "position", extra, length))
    return specs


def batch(specs, n=3):
    return {s.name: torch.rand(n, s.channels, s.length) for s in specs}


@pytest.mark.parametrize("name", ["multiresbind", "deepripe", "deepbind"])
@pytest.mark.parametrize("extra", [0, 2])
def test_models_give_logits_of_shape_n_k(name, extra):
    specs = inputs(101, extra)
    m = build_model(name, inputs=specs, n_labels=7).eval()
    out = m(batch(specs))
    assert out.shape == (3, 7)
    assert torch.isfinite(out).all()


def test_multiresbind_architecture_matches_the_paper():
    m = build_model("multiresbind", inputs=inputs(150), n_labels=27)
    conv0 = m.stem[0]
    assert (conv0.in_channels, conv0.out_channels, conv0.kernel_size) == (4, 96, (11,))
    dil = [c.dilation[0] for c in m.residual.body if isinstance(c, torch.nn.Conv1d)]
    assert dil == [1, 2, 4, 8]
    drops = [d.p for d in m.modules() if isinstance(d, torch.nn.Dropout)]
    assert sorted(set(drops)) == [0.1, 0.2, 0.5]
    pool = m.pool[0]
    assert (pool.kernel_size, pool.stride) == ((10,), (10,))
    dense = m.head[1]
    assert (dense.in_features, dense.out_features) == (96 * 15, 256)
    assert m.head[-1].out_features == 27


def test_glorot_initialisation():
    m = build_model("multiresbind", inputs=inputs(101), n_labels=5)
    w = m.head[-1].weight
    bound = (6 / (w.shape[0] + w.shape[1])) ** 0.5
    assert w.abs().max() <= bound + 1e-6
    assert torch.all(m.head[-1].bias == 0)


def test_build_model_validates_names_and_params():
    with pytest.raises(ConfigError, match="unknown model"):
        build_model("nope", inputs=inputs(), n_labels=2)
    with pytest.raises(ConfigError, match="no hyper-parameter"):
        build_model("multiresbind", inputs=inputs(), n_labels=2, params={"filterz": 3})


def test_config_roundtrip_via_dict():
    m = build_model("multiresbind", inputs=inputs(), n_labels=2, params={"filters": 8, "dilations": [2, 4]})
    d = config_to_dict(m.config)
    assert d["filters"] == 8 and d["dilations"] == [2, 4]
    again = build_model("multiresbind", inputs=inputs(), n_labels=2, params=d)
    assert sum(p.numel() for p in again.parameters()) == sum(p.numel() for p in m.parameters())


def test_registry_lists_builtins():
    assert {"multiresbind", "deepripe", "deepbind"} <= set(MODELS)


def test_config_is_derived_from_the_constructor_once():
    import dataclasses
    import inspect

    from rnalabel.models import register_model

    for name, cls in MODELS.items():
        sig = inspect.signature(cls.__init__).parameters
        fields = {f.name: f for f in dataclasses.fields(cls.Config)}
        assert set(fields) == set(sig) - {"self"}, name
        for f in fields.values():
            if sig[f.name].default is not inspect.Parameter.empty:
                assert f.default == sig[f.name].default, (name, f.name)
    cfg = MODELS["deepbind"].Config(inputs=tuple(inputs()), n_labels=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.filters = 4
    m = MODELS["deepbind"].from_config(cfg)
    assert m.head[-1].out_features == 3

    with pytest.raises(TypeError, match="keyword-only"):
        @register_model("positional")
        class Positional(torch.nn.Module):
            def __init__(self, inputs, n_labels):
                super().__init__()

    with pytest.raises(TypeError, match="embed"):
        @register_model("no-embed", kinds=("embedding",))
        class NoEmbed(torch.nn.Module):
            def __init__(self, *, inputs, n_labels):
                super().__init__()
    assert "positional" not in MODELS and "no-embed" not in MODELS
    assert MODELS["multiresbind"].kinds[0] == "windowed"


def test_models_refuse_inputs_they_cannot_use():
    specs = [*inputs(), InputSpec("k", "sequence", 84, 0)]
    for name in ("multiresbind", "deepripe", "deepbind", "mmfa"):
        with pytest.raises(ConfigError, match="takes per-position views only; got k \\(sequence\\)"):
            build_model(name, inputs=specs, n_labels=2)


class TestCheapMaskDropout:
    """models.layers.Dropout: nn.Dropout's distribution and gradient, with masks drawn 4 per random int64."""

    @pytest.mark.parametrize("p", [0.1, 0.5])
    @pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
    def test_drops_a_fraction_p_and_scales_the_rest(self, p, dtype):
        from rnalabel.models.layers import Dropout

        torch.manual_seed(0)
        x = torch.ones(64, 96, 101, dtype=dtype)
        y = Dropout(p).train()(x)
        assert y.dtype == dtype and y.shape == x.shape
        dropped = (y == 0).float().mean().item()
        assert abs(dropped - p) < 0.005  # 620,544 draws: sd of the fraction < 0.0007
        assert torch.allclose(y[y != 0].float(), torch.tensor(1 / (1 - p)), rtol=1e-2)
        assert abs(y.float().mean().item() - 1.0) < 0.01  # expectation kept (inverted dropout)
        # independent per element: neighbours along length and channels are not correlated
        kept = (y != 0).float()
        for a, b in ((kept[:, :, 1:], kept[:, :, :-1]), (kept[:, 1:], kept[:, :-1])):
            both = (a * b).mean().item()
            assert abs(both - (1 - p) ** 2) < 0.005

    def test_gradient_is_the_mask_and_eval_is_identity(self):
        from rnalabel.models.layers import Dropout

        torch.manual_seed(1)
        d = Dropout(0.3).train()
        x = torch.randn(8, 5, 33, requires_grad=True)
        y = d(x)
        y.sum().backward()
        mask = (y.detach() != 0).float() / 0.7
        assert torch.allclose(x.grad, mask, atol=1e-4)
        d.eval()
        assert torch.equal(d(x), x)
        assert d.state_dict() == {} and isinstance(d, torch.nn.Dropout)

    def test_seeded_masks_repeat_and_odd_sizes_work(self):
        from rnalabel.models.layers import Dropout

        d = Dropout(0.2).train()
        x = torch.ones(3, 7, 11)  # 231 elements: not a multiple of 4
        torch.manual_seed(5)
        a = d(x)
        torch.manual_seed(5)
        b = d(x)
        assert torch.equal(a, b)
        assert d(torch.ones(0, 4)).shape == (0, 4)
        for p in (0.0, 1.0):
            assert torch.equal(Dropout(p).train()(x), torch.nn.functional.dropout(x, p, True))
