"""MMFA: per-view CNNs (Part A) and multi-view multi-label fusion with view feature attention (Part B).

After Han et al., "RNA-RBP interactions recognition using multi-label learning and feature attention
allocation" (J Cloud Comp 2024), whose Part B is MMFA (Cheng et al., Neurocomputing 2022) built on SIMM's common /
private split (Wu et al., IJCAI 2019).

Part A, one CNN per view (:class:`ViewEncoder`; alone it is the ``viewcnn`` model)
    conv (101 filters of width 10, ReLU) -> max-pool 3 (the paper drops it for the dipeptide view: ``pool = 1``)
    -> flatten -> dropout 0.5 -> dense 202 (ReLU) -> dropout 0.5 -> dense K. Trained per view with BCE; the
    202-dimensional ReLU output of the first dense layer is the view's deep feature ``X^v``.

Part B, MMFA on the deep features (:class:`MMFA`)
    * per view, a common extractor ``C^v = ReLU(A_v X^v)`` and a private extractor ``Q^v = ReLU(B_v X^v)``, both
      of dimension k (``common_dim``; the paper uses 68); the common feature is ``C = mean_v C^v``;
    * ``l_common`` = adversarial loss + shared-subspace multi-label loss: a view discriminator (dense k -> k,
      ReLU, dense k -> V) learns which view each ``C^v`` came from, reached through gradient reversal so the
      extractors learn to make the views indistinguishable; a dense layer on ``C`` predicts the labels (masked
      BCE);
    * ``l_private`` = orthogonality between the common and private features, ``sum_v ||C^T Q^v / n||_F^2``
      over a batch of n;
    * synergistic features ``P = [Q^1, ..., Q^V, C]``, shape (N, (V + 1) k);
    * view feature attention, one head per view: the query is view v's deep feature projected to k
      (``X^v W_q^v``), the keys are the common features ``[C^1, ..., C^V, C]`` and the values the V + 1 blocks of
      ``P``; ``head_v = softmax(q_v K^T / t_c) V`` with ``t_c = k`` (the paper's scaling "by the dimensionality of
      the common features", not sqrt(k)); the heads are concatenated, fused by ``W_o`` (V k -> (V + 1) k) and
      added back to ``P`` through a shortcut: ``Z = P + W_o [head_1, ..., head_V]``;
    * a dense head ``H(Z)`` gives K logits; ``L = l_ml + lambda * l_common + gamma * l_private`` with
      lambda = 1e-3 and gamma = 1e-4 (the paper's choice). ``attention=False`` is the paper's MMFA-MA ablation
      (``Z = P``).

Choices where the paper is vague, written down:
    * The paper writes the attention as ``softmax(X^v C^T / t_c) P`` over a data matrix of n samples, which
      would make a prediction depend on the other sequences in its batch. Here the attention runs **within one
      sequence**, over its V + 1 feature blocks, so predictions are batch-independent and the weights (N, V,
      V + 1) say how much each view's private block (and the common block) each view's query draws on.
    * Part A is trained first (stage ``features``: each view's CNN with its own BCE head), then Part B (stage
      ``fusion``) on the frozen CNNs (``feature_training="frozen"``, the paper's two-step scheme; the frozen
      CNNs run in eval mode, so their features are deterministic). ``"finetune"`` trains the CNNs again
      with L in the second stage; ``"joint"`` skips the first stage and trains everything end to end.
      :func:`rnalabel.engine.training.fit` runs the stages through the generic ``training_stages`` hook (see there).
      In stage ``features`` the CNNs train side by side on the mean of their BCE losses, with one early
      stopping; to train them apart (each with its own early stopping, as ``benchmarks/mmfa_ablation.py``
      does), fit ``viewcnn`` recipes and start MMFA from them with
      ``fit(..., stages=["fusion"], init_state=view_encoder_state(cnns))``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from rnalabel.errors import ConfigError
from rnalabel.models.layers import (
    Dropout,
    glorot_init,
    gradient_reversal,
    orthogonality_loss,
    pooled_length,
    position_inputs,
    view_attention,
)
from rnalabel.models.registry import InputSpec, register_model

FEATURE_TRAINING = ("frozen", "finetune", "joint")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class ViewEncoder(nn.Module):
    """One view's CNN (Part A): conv -> ReLU -> max-pool -> dropout -> dense ``hidden`` (ReLU) -> dropout -> K.

    Parameters
    ----------
    channels, length : int
        The view's C and L.
    n_labels : int
    filters : int
        Default is 101.
    kernel : int
        Default is 10.
    pool : int
        Max-pool size and stride; 1 = no pooling. Default is 3.
    hidden : int
        Width of the deep feature. Default is 202.
    dropout : float
        Default is 0.5.
    """

    def __init__(
        self, channels: int, length: int, n_labels: int, *, filters: int = 101, kernel: int = 10, pool: int = 3,
        hidden: int = 202, dropout: float = 0.5,
    ) -> None:
        super().__init__()
        conv_len = pooled_length(length, kernel, 1)
        flat_len = pooled_length(conv_len, pool, pool) if pool > 1 else conv_len
        if conv_len < 1 or flat_len < 1:
            raise ValueError(f"a view of length {length} is too short for kernel {kernel} and pool {pool}")
        self.body = nn.Sequential(
            nn.Conv1d(channels, filters, kernel),
            nn.ReLU(),
            nn.MaxPool1d(pool, pool) if pool > 1 else nn.Identity(),
            nn.Flatten(),
            Dropout(dropout),
            nn.Linear(filters * flat_len, hidden),
            nn.ReLU(),
        )
        self.out = nn.Sequential(Dropout(dropout), nn.Linear(hidden, n_labels))
        self.hidden = hidden

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The deep feature, (N, C, L) -> (N, hidden)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))


# Part A alone -----------------------------------------------------------------------------------------------
@register_model("viewcnn")
class ViewCNN(nn.Module):
    """A single-view CNN of the MMFA paper's Part A (see :class:`ViewEncoder`), trained alone.

    Parameters
    ----------
    inputs : tuple of InputSpec
        Exactly one per-position view.
    n_labels : int
    filters, kernel, pool, hidden, dropout
        See :class:`ViewEncoder`. Defaults are 101, 10, 3, 202, 0.5.
    """


    def __init__(
        self, *, inputs: tuple[InputSpec, ...], n_labels: int, filters: int = 101, kernel: int = 10, pool: int = 3,
        hidden: int = 202, dropout: float = 0.5,
    ) -> None:
        super().__init__()
        specs = position_inputs(inputs, "viewcnn")
        if len(specs) != 1:
            raise ConfigError(
                f"model 'viewcnn' takes exactly one view, got {len(specs)}.", remedy="use model 'mmfa' for several."
            )
        self.view = specs[0].name
        self.encoder = ViewEncoder(specs[0].channels, specs[0].length, n_labels, filters=filters, kernel=kernel,
                                   pool=pool, hidden=hidden, dropout=dropout)
        glorot_init(self)

    def forward(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.encoder(x[self.view])


def view_encoder_state(trained: Mapping[str, nn.Module]) -> dict[str, torch.Tensor]:
    """Initial weights for :class:`MMFA`'s Part A from trained :class:`ViewCNN` modules.

    Parameters
    ----------
    trained : mapping of str to ViewCNN
        View name (as in the MMFA recipe) -> a ViewCNN trained on that view with the same encoder settings.

    Returns
    -------
    dict of str to torch.Tensor
        Keys ``encoders.<view>.*``; give it to :func:`rnalabel.engine.training.fit` as ``init_state`` and run only the
        ``fusion`` stage to train Part B on those CNNs.
    """
    return {f"encoders.{view}.{k}": v.detach().clone()
            for view, m in trained.items() for k, v in m.encoder.state_dict().items()}


# MMFA -------------------------------------------------------------------------------------------------------
class FusionOutput(NamedTuple):
    """Everything Part B computes for a batch.

    Attributes
    ----------
    logits : torch.Tensor, shape=(N, K)
    common : torch.Tensor, shape=(N, k)
        ``C``, the mean of the views' common features.
    view_common : torch.Tensor, shape=(N, V, k)
    private : torch.Tensor, shape=(N, V, k)
    attention : torch.Tensor or None, shape=(N, V, V + 1)
        Weights of each view's head over the blocks ``[Q^1, ..., Q^V, C]``; None for MMFA-MA.
    """

    logits: torch.Tensor
    common: torch.Tensor
    view_common: torch.Tensor
    private: torch.Tensor
    attention: torch.Tensor | None


@register_model("mmfa")
class MMFA(nn.Module):
    """Per-view CNNs and MMFA fusion (see the module docstring).

    Parameters
    ----------
    inputs : tuple of InputSpec
        One or more per-position views, each of its own length; one CNN each.
    n_labels : int
    filters, kernel, hidden, dropout
        Part A CNN settings, shared by the views. Defaults are 101, 10, 202, 0.5.
    pool : tuple of int
        Max-pool size per view, in view order; one value applies to every view. Default is (3,).
    common_dim : int
        k, the width of the common and private features. Default is 68 (the paper's).
    lambda_common : float
        Weight of ``l_common``. Default is 1e-3.
    gamma_private : float
        Weight of ``l_private``. Default is 1e-4.
    attention : bool
        False gives MMFA-MA (no view feature attention). Default is True.
    feature_training : "frozen", "finetune" or "joint"
        Default is "frozen" (the paper's).
    grl_scale : float
        Gradient-reversal factor of the adversarial loss. Default is 1.0.
    """


    def __init__(
        self, *, inputs: tuple[InputSpec, ...], n_labels: int, filters: int = 101, kernel: int = 10,
        pool: tuple[int, ...] = (3,), hidden: int = 202, dropout: float = 0.5, common_dim: int = 68,
        lambda_common: float = 1e-3, gamma_private: float = 1e-4, attention: bool = True,
        feature_training: str = "frozen", grl_scale: float = 1.0,
    ) -> None:
        super().__init__()
        specs = position_inputs(inputs, "mmfa")
        pool = (pool,) if isinstance(pool, int) else tuple(pool)
        if len(pool) not in (1, len(specs)):
            raise ConfigError(f"mmfa: pool has {len(pool)} values for {len(specs)} views.",
                              remedy="give one value, or one per view in the recipe's view order.")
        if feature_training not in FEATURE_TRAINING:
            raise ConfigError(f"mmfa: unknown feature_training {feature_training!r}.",
                              remedy=f"choose one of: {', '.join(FEATURE_TRAINING)}.")
        self.names = [s.name for s in specs]
        v, k = len(specs), common_dim
        pools = pool * v if len(pool) == 1 else pool
        self.encoders = nn.ModuleDict({
            s.name: ViewEncoder(s.channels, s.length, n_labels, filters=filters, kernel=kernel, pool=p,
                                hidden=hidden, dropout=dropout)
            for s, p in zip(specs, pools, strict=True)
        })
        self.common = nn.ModuleDict({n: nn.Sequential(nn.Linear(hidden, k), nn.ReLU()) for n in self.names})
        self.private = nn.ModuleDict({n: nn.Sequential(nn.Linear(hidden, k), nn.ReLU()) for n in self.names})
        self.discriminator = nn.Sequential(nn.Linear(k, k), nn.ReLU(), nn.Linear(k, v))
        self.shared_head = nn.Linear(k, n_labels)
        self.use_attention = attention
        if attention:
            self.queries = nn.ModuleDict({n: nn.Linear(hidden, k, bias=False) for n in self.names})
            self.w_o = nn.Linear(v * k, (v + 1) * k)
        self.head = nn.Linear((v + 1) * k, n_labels)
        self.k, self.lambda_common, self.gamma_private = k, lambda_common, gamma_private
        self.feature_training, self.grl_scale = feature_training, grl_scale
        glorot_init(self)
        self._stage = "fusion"

    # the network ----------------------------------------------------------------------------------------------
    def deep_features(self, x: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Part A: each view's deep feature, ``{view: (N, hidden)}``."""
        return {n: self.encoders[n].features(x[n]) for n in self.names}

    def fuse(self, feats: Mapping[str, torch.Tensor]) -> FusionOutput:
        """Part B on deep features ``{view: (N, hidden)}``."""
        view_common = torch.stack([self.common[n](feats[n]) for n in self.names], dim=1)  # (N, V, k)
        private = torch.stack([self.private[n](feats[n]) for n in self.names], dim=1)
        common = view_common.mean(dim=1)
        p = torch.cat([private, common[:, None, :]], dim=1)  # (N, V + 1, k): [Q^1 .. Q^V, C]
        z = p.flatten(1)
        weights = None
        if self.use_attention:
            q = torch.stack([self.queries[n](feats[n]) for n in self.names], dim=1)  # (N, V, k)
            keys = torch.cat([view_common, common[:, None, :]], dim=1)
            heads, weights = view_attention(q, keys, p, float(self.k))
            z = z + self.w_o(heads.flatten(1))
        return FusionOutput(self.head(z), common, view_common, private, weights)

    def forward(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.fuse(self.deep_features(x)).logits

    # training hooks (called by rnalabel.engine.training.fit) ----------------------------------------------------------
    def training_stages(self) -> tuple[str, ...]:
        """``("features", "fusion")``, or ``("fusion",)`` when trained end to end."""
        return ("fusion",) if self.feature_training == "joint" else ("features", "fusion")

    def set_training_stage(self, stage: str) -> None:
        """Select what :meth:`training_losses` optimises and which parameters train."""
        if stage not in ("features", "fusion"):
            raise ConfigError(f"mmfa has no training stage {stage!r}.", remedy="use features or fusion.")
        self._stage = stage
        frozen = stage == "fusion" and self.feature_training == "frozen"
        for name, p in self.named_parameters():
            p.requires_grad_(not frozen if name.startswith("encoders.") else stage == "fusion")
        self.train(self.training)

    def train(self, mode: bool = True) -> MMFA:
        super().train(mode)
        if self._frozen():
            self.encoders.eval()  # frozen CNNs give deterministic features (no dropout)
        return self

    def _frozen(self) -> bool:
        return getattr(self, "_stage", "fusion") == "fusion" and self.feature_training == "frozen"

    def training_losses(self, x: Mapping[str, torch.Tensor], y: torch.Tensor, base_loss: LossFn
                        ) -> dict[str, torch.Tensor]:
        """The loss terms of one batch; ``total`` is what training minimises.

        Stage ``features``: ``view_<name>`` = ``base_loss`` of each view's CNN; ``total`` = their mean.
        Stage ``fusion``: ``ml``, ``shared``, ``adversarial``, ``common`` (= shared + adversarial), ``private``
        and ``total`` = ml + lambda * common + gamma * private; ``monitor`` = ml, so that early stopping
        watches the multi-label loss of the prediction and not the auxiliary terms (the orthogonality term
        alone is of the order of 100 at the start, i.e. 0.01 of the total at gamma = 1e-4).
        """
        if self._stage == "features":
            terms = {f"view_{n}": base_loss(self.encoders[n](x[n]), y) for n in self.names}
            return {**terms, "total": torch.stack(list(terms.values())).mean()}
        if self._frozen():
            with torch.no_grad():
                feats = self.deep_features(x)
        else:
            feats = self.deep_features(x)
        out = self.fuse(feats)
        ml = base_loss(out.logits, y)
        shared = base_loss(self.shared_head(out.common), y)
        n, v, _ = out.view_common.shape
        disc = self.discriminator(gradient_reversal(out.view_common, self.grl_scale).reshape(n * v, -1))
        adversarial = F.cross_entropy(disc, torch.arange(v, device=disc.device).repeat(n))
        private = sum(orthogonality_loss(out.common, out.private[:, i]) for i in range(v))
        common = shared + adversarial
        total = ml + self.lambda_common * common + self.gamma_private * private
        return {"ml": ml, "shared": shared, "adversarial": adversarial, "common": common, "private": private,
                "total": total, "monitor": ml}
