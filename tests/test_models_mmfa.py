import numpy as np
import pytest
import torch

from rnalabel.engine.losses import masked_bce
from rnalabel.engine.metrics import per_label_auc
from rnalabel.errors import ConfigError
from rnalabel.models.layers import gradient_reversal, orthogonality_loss, view_attention
from rnalabel.models.mmfa import view_encoder_state
from rnalabel.models.registry import InputSpec, build_model

SMALL = {"filters": 8, "kernel": 4, "hidden": 16, "dropout": 0.0}
SPECS = [InputSpec("a", "position", 4, 20), InputSpec("b", "position", 20, 18), InputSpec("c", "position", 440, 30)]


def _inputs(n: int, specs=SPECS, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {s.name: torch.rand(n, s.channels, s.length, generator=g) for s in specs}


def _mmfa(**params):
    return build_model("mmfa", inputs=SPECS, n_labels=5,
                       params={**SMALL, "pool": (2, 2, 1), "common_dim": 6, **params})


def test_gradient_reversal_flips_the_sign():
    x = torch.randn(4, 3, requires_grad=True)
    y = gradient_reversal(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.arange(3.0)).sum().backward()
    assert torch.allclose(x.grad, -0.5 * torch.arange(3.0).expand(4, 3))


def test_orthogonality_loss():
    a = torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    b = torch.tensor([[0.0, 0.0], [0.0, 3.0], [0.0, 0.0]])
    assert orthogonality_loss(a, b).item() == 0.0
    c = torch.tensor([[1.0], [1.0], [0.0]])
    # a^T c = [1, 0]; divided by n = 3, squared: 1/9
    assert orthogonality_loss(a, c).item() == pytest.approx(1 / 9)


def test_view_attention_shapes_and_weights():
    q, k, v = torch.randn(5, 3, 4), torch.randn(5, 4, 4), torch.randn(5, 4, 4)
    heads, w = view_attention(q, k, v, 4.0)
    assert heads.shape == (5, 3, 4) and w.shape == (5, 3, 4)
    assert torch.allclose(w.sum(-1), torch.ones(5, 3))
    assert torch.allclose(heads, w @ v, atol=1e-6)


def test_mmfa_shapes_and_ablation():
    m = _mmfa().eval()
    x = _inputs(7)
    out = m.fuse(m.deep_features(x))
    assert out.logits.shape == (7, 5) and m(x).shape == (7, 5)
    assert out.common.shape == (7, 6) and out.view_common.shape == (7, 3, 6) and out.private.shape == (7, 3, 6)
    assert out.attention.shape == (7, 3, 4)  # one head per view over [Q1, Q2, Q3, C]
    assert torch.allclose(out.attention.sum(-1), torch.ones(7, 3))
    ma = _mmfa(attention=False).eval()
    assert ma.fuse(ma.deep_features(x)).attention is None and ma(x).shape == (7, 5)
    assert not any(n.startswith(("queries", "w_o")) for n, _ in ma.named_parameters())


def test_mmfa_predictions_do_not_depend_on_the_batch():
    m = _mmfa().eval()
    x = _inputs(6)
    with torch.no_grad():
        full = m(x)
        part = m({k: v[2:4] for k, v in x.items()})
    assert torch.allclose(full[2:4], part, atol=1e-6)


def test_mmfa_rejects_bad_settings():
    with pytest.raises(ConfigError):
        _mmfa(pool=(3, 3))  # three views
    with pytest.raises(ConfigError):
        _mmfa(feature_training="sometimes")
    with pytest.raises(ConfigError):
        build_model("mmfa", inputs=[InputSpec("k", "sequence", 10)], n_labels=2)
    with pytest.raises(ConfigError):
        build_model("viewcnn", inputs=SPECS[:2], n_labels=2)
    with pytest.raises(ConfigError):  # the conv is wider than the view
        build_model("viewcnn", inputs=[InputSpec("a", "position", 4, 5)], n_labels=2, params={"kernel": 10})


def test_training_stages_and_losses():
    m = _mmfa()
    assert m.training_stages() == ("features", "fusion")
    assert _mmfa(feature_training="joint").training_stages() == ("fusion",)
    x, y = _inputs(8), (torch.rand(8, 5) > 0.5).float()
    m.set_training_stage("features")
    losses = m.training_losses(x, y, masked_bce)
    assert set(losses) == {"view_a", "view_b", "view_c", "total"}
    trainable = {n.split(".")[0] for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == {"encoders"}
    m.set_training_stage("fusion")
    m.train()
    assert not m.encoders.training and m.head.training  # frozen CNNs run in eval mode
    losses = m.training_losses(x, y, masked_bce)
    assert set(losses) == {"ml", "shared", "adversarial", "common", "private", "total", "monitor"}
    assert losses["monitor"] is losses["ml"]
    expect = losses["ml"] + 1e-3 * losses["common"] + 1e-4 * losses["private"]
    assert torch.allclose(losses["total"], expect)
    assert torch.allclose(losses["common"], losses["shared"] + losses["adversarial"])
    losses["total"].backward()
    assert all(p.grad is None for p in m.encoders.parameters())
    assert m.discriminator[0].weight.grad is not None
    ft = _mmfa(feature_training="finetune")
    ft.set_training_stage("fusion")
    assert all(p.requires_grad for p in ft.parameters())
    with pytest.raises(ConfigError):
        m.set_training_stage("everything")


def test_view_encoder_state_maps_single_view_cnns():
    cnn = build_model("viewcnn", inputs=[SPECS[0]], n_labels=5, params={**SMALL, "pool": 2})
    state = view_encoder_state({"a": cnn})
    m = _mmfa()
    m.load_state_dict(state, strict=False)
    x = _inputs(3)
    m.eval(), cnn.eval()
    with torch.no_grad():
        assert torch.allclose(m.encoders["a"](x["a"]), cnn(x))


# a toy two-view problem: label 0 is a motif in view a, label 1 a motif in view b, label 2 both -------------
def _toy(n: int, seed: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = np.random.default_rng(seed)

    def view(has: np.ndarray) -> torch.Tensor:
        t = g.integers(0, 4, (n, 20))
        pos = g.integers(0, 16, n)
        for i in np.flatnonzero(has):
            t[i, pos[i]:pos[i] + 4] = [0, 1, 2, 3]
        return torch.from_numpy(np.eye(4, dtype=np.float32)[t].transpose(0, 2, 1).copy())

    a, b = g.random(n) < 0.5, g.random(n) < 0.5
    return {"a": view(a), "b": view(b)}, torch.from_numpy(np.stack([a, b, a & b], 1).astype(np.float32))


def _train(model, x, y, epochs: int, stage: str | None = None):
    if stage is not None:
        model.set_training_stage(stage)
    model.train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    g = torch.Generator().manual_seed(0)
    hook = getattr(model, "training_losses", None)
    for _ in range(epochs):
        for idx in torch.randperm(len(y), generator=g).split(64):
            xb = {k: v[idx] for k, v in x.items()}
            loss = hook(xb, y[idx], masked_bce)["total"] if hook else masked_bce(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def _macro_auc(model, x, y) -> float:
    with torch.no_grad():
        s = torch.sigmoid(model(x)).numpy()
    return float(np.nanmean(per_label_auc(y.numpy(), s)[0]))


def test_mmfa_beats_each_single_view_on_a_two_view_toy():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is fastest on a busy machine
    try:
        torch.manual_seed(0)
        xtr, ytr = _toy(640, 0)
        xte, yte = _toy(400, 1)
        specs = [InputSpec(n, "position", 4, 20) for n in "ab"]
        params = {**SMALL, "pool": 2}
        single = {}
        for s in specs:
            cnn = _train(build_model("viewcnn", inputs=[s], n_labels=3, params=params), xtr, ytr, 12)
            single[s.name] = _macro_auc(cnn, xte, yte)
        m = build_model("mmfa", inputs=specs, n_labels=3, params={**params, "pool": (2,), "common_dim": 8})
        _train(m, xtr, ytr, 12, "features")
        _train(m, xtr, ytr, 12, "fusion")
        both = _macro_auc(m, xte, yte)
    finally:
        torch.set_num_threads(threads)
    # one view alone sees one of the three labels fully and the AND label half: macro AUROC about 0.72
    assert max(single.values()) < 0.8
    assert both > max(single.values()) + 0.1, (both, single)
