"""Proteins compared with each other, and proteins without binding data scored through their neighbours
(DeepMiRBP's second component, and its miR-223 -> YBX1 path).

* :func:`rna_side_similarity`: how alike two proteins' bound RNAs are: the cosine between the centroids of their
  sites in the similarity index (centred across proteins). This is what the protein encoder learns to predict.
* :func:`train_protein_encoder`: the CNN of :mod:`rnalabel.models.protein_encoder` trained so that the cosine of
  two proteins' embeddings matches their RNA-side similarity (mean squared error over all pairs of proteins with
  binding data): proteins that bind similar RNA end up close, and a protein with no binding data lands near the
  proteins whose RNA it probably binds, by its profile and structure alone.
* :func:`attach_protein_encoder` / :func:`load_protein_encoder`: the encoder (safetensors bytes), the names and
  embeddings of the proteins with data, stored as bundle artifacts.
* :func:`protein_similarity`: the n x n cosine matrix of all of them (plus any new proteins).
* :func:`zero_shot`: a new protein's score for a query RNA = the similarity-weighted mean of the z-scores of its
  ``neighbours`` most similar proteins with data (weights: positive cosines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rnalabel.data import Dataset
from rnalabel.engine.bundle import Artifact, Bundle
from rnalabel.engine.similarity import SiteIndex, load_index, site_scores
from rnalabel.errors import InputError, ModelFileError
from rnalabel.io.protein_features import ProteinFeatures
from rnalabel.models.protein_encoder import ProteinEncoder

ENCODER = "proteins.encoder"
PROTEINS_META = "proteins.meta"
PROTEINS_EMB = "proteins.embeddings"


def _tensors(f: ProteinFeatures) -> tuple[torch.Tensor, torch.Tensor | None]:
    return (torch.from_numpy(f.profile.values),
            None if f.contacts is None else torch.from_numpy(np.asarray(f.contacts, dtype=np.float32)))


def protein_groups(index: SiteIndex) -> dict[str, list[int]]:
    """Protein -> the index's experiments that assayed it."""
    out: dict[str, list[int]] = {}
    for j, e in enumerate(index.experiments):
        for p in index.proteins[e]:
            out.setdefault(p, []).append(j)
    return out


def rna_side_similarity(index: SiteIndex, proteins: list[str]) -> np.ndarray:
    """(P, P) cosine between the centroids of the proteins' site vectors, centred across the proteins."""
    groups = protein_groups(index)
    cents = []
    for p in proteins:
        if p not in groups:
            raise InputError(f"protein {p!r} has no sites in the index.")
        rows = np.concatenate([np.arange(index.offsets[j], index.offsets[j + 1]) for j in groups[p]])
        cents.append(index.vectors[rows].mean(axis=0))
    c = np.asarray(cents, dtype=np.float64)
    c -= c.mean(axis=0, keepdims=True)
    c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    return c @ c.T


def train_protein_encoder(
    features: list[ProteinFeatures],
    target: np.ndarray,
    *,
    epochs: int = 150,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    **params: Any,
) -> tuple[ProteinEncoder, list[float]]:
    """Train a :class:`ProteinEncoder` so that the cosine of two proteins' embeddings matches ``target``.

    Parameters
    ----------
    features : list of ProteinFeatures
        P proteins with binding data.
    target : numpy.ndarray, shape=(P, P)
        Their RNA-side similarity (:func:`rna_side_similarity`).
    epochs, lr, weight_decay, seed
        Full-batch Adam. Defaults 150, 1e-3, 1e-4, 0.
    **params
        :class:`ProteinEncoder` hyper-parameters.

    Returns
    -------
    (ProteinEncoder, loss per epoch)
    """
    if len(features) < 3 or target.shape != (len(features), len(features)):
        raise InputError(f"training the protein encoder needs at least 3 proteins and a {len(features)} x "
                         f"{len(features)} target, got {len(features)} and {target.shape}.")
    torch.manual_seed(seed)
    enc = ProteinEncoder(**params)
    opt = torch.optim.Adam(enc.parameters(), lr=lr, weight_decay=weight_decay)
    x = [_tensors(f) for f in features]
    t = torch.as_tensor(target, dtype=torch.float32)
    iu = torch.triu_indices(len(x), len(x), offset=1)
    history = []
    for _ in range(epochs):
        e = enc(x)
        sim = e @ e.T
        loss = ((sim[iu[0], iu[1]] - t[iu[0], iu[1]]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    return enc.eval(), history


def embed_proteins(encoder: ProteinEncoder, features: list[ProteinFeatures]) -> np.ndarray:
    """(P, dim) unit vectors."""
    with torch.no_grad():
        return encoder([_tensors(f) for f in features]).numpy()


def attach_protein_encoder(bundle: Bundle, encoder: ProteinEncoder, features: list[ProteinFeatures],
                           info: dict[str, Any] | None = None) -> Bundle:
    """Store the encoder and the embeddings of the proteins with binding data in the bundle's artifacts."""
    from safetensors.torch import save

    names = [f.name for f in features]
    bundle.artifacts[ENCODER] = Artifact(save({k: v.contiguous() for k, v in encoder.state_dict().items()}), "bytes",
                                         "protein encoder weights (safetensors)")
    bundle.artifacts[PROTEINS_EMB] = Artifact(embed_proteins(encoder, features).astype(np.float32), "npy",
                                              "embeddings of the proteins with binding data")
    bundle.artifacts[PROTEINS_META] = Artifact(
        {"names": names, "config": encoder.config, "profiles": {f.name: f.profile.source for f in features},
         "contact_maps": [f.name for f in features if f.contacts is not None], **(info or {})},
        "json", "protein encoder: configuration, proteins, the source of each profile")
    return bundle


@dataclass
class ProteinSpace:
    encoder: ProteinEncoder
    names: list[str]
    embeddings: np.ndarray
    meta: dict[str, Any]


def load_protein_encoder(bundle: Bundle) -> ProteinSpace:
    """The protein encoder and embeddings stored by :func:`attach_protein_encoder`."""
    from safetensors.torch import load

    if not {ENCODER, PROTEINS_META, PROTEINS_EMB} <= set(bundle.artifacts):
        raise ModelFileError("the model holds no protein encoder.",
                             remedy="add one with `rnalabel proteins train MODEL --pssm-dir DIR --fasta FILE`.")
    meta = bundle.artifacts[PROTEINS_META].value
    try:
        enc = ProteinEncoder(**meta["config"])
        enc.load_state_dict(load(bytes(bundle.artifacts[ENCODER].value)))
        emb = np.asarray(bundle.artifacts[PROTEINS_EMB].value, dtype=np.float32)
        names = list(meta["names"])
        ok = emb.shape == (len(names), enc.config["dim"])
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise ModelFileError(f"the protein encoder is damaged ({exc}).", remedy="train it again.") from None
    if not ok:
        raise ModelFileError("the protein encoder's embeddings do not match its proteins.", remedy="train it again.")
    return ProteinSpace(enc.eval(), names, emb, meta)


def _embed_new(space: ProteinSpace, new: list[ProteinFeatures], taken: frozenset[str] | set[str] = frozenset()
               ) -> np.ndarray:
    """Embeddings of new proteins, refusing one named like a protein with data (or like another new one): it
    would be listed twice, once from its own sites and once through its neighbours."""
    known = {n.upper() for n in [*space.names, *taken]}
    seen: set[str] = set()
    for f in new:
        key = f.name.upper()
        if key in known:
            raise InputError(f"{f.name!r} is given as a new protein but has binding data in this model (its rank "
                             "comes from its own sites).",
                             remedy="leave it out, or give it another name (--name, or the FASTA id) to see its "
                             "score through its neighbours.")
        if key in seen:
            raise InputError(f"two new proteins are named {f.name!r}.", remedy="give each its own name.")
        seen.add(key)
    return embed_proteins(space.encoder, new)


def protein_similarity(bundle: Bundle, new: list[ProteinFeatures] | None = None) -> tuple[list[str], np.ndarray]:
    """(names, n x n cosine matrix) of the proteins with data, followed by ``new`` ones."""
    space = load_protein_encoder(bundle)
    emb = space.embeddings
    names = list(space.names)
    if new:
        emb = np.concatenate([emb, _embed_new(space, new)])
        names += [f.name for f in new]
    return names, emb @ emb.T


def zero_shot(
    bundle: Bundle,
    queries: Dataset,
    new: list[ProteinFeatures],
    *,
    neighbours: int = 3,
    batch_size: int = 512,
) -> list[dict[str, Any]]:
    """Scores of proteins without binding data for each query RNA, through their most similar proteins with data.

    Returns
    -------
    list of dict
        One per (query, new protein): ``id``, ``protein``, ``score`` (weighted mean z of the neighbours),
        ``neighbours`` [(protein, cosine, its z)].
    """
    if isinstance(neighbours, bool) or not isinstance(neighbours, int) or neighbours < 1:
        raise InputError(f"neighbours must be a whole number of at least 1, got {neighbours!r}.")
    space = load_protein_encoder(bundle)
    index = load_index(bundle)
    groups = protein_groups(index)
    known = [i for i, n in enumerate(space.names) if n in groups]
    if not known:
        raise ModelFileError("none of the encoder's proteins is in the similarity index.", remedy="train it again.")
    z, *_ = site_scores(bundle, queries, index=index, batch_size=batch_size)
    zp = np.stack([z[:, groups[space.names[i]]].max(axis=1) for i in known], axis=1)  # (Q, P_known)
    sims = _embed_new(space, new, set(groups)) @ space.embeddings[known].T  # (N, P_known)
    out = []
    for n, f in enumerate(new):
        order = np.argsort(-sims[n])[:neighbours]
        w = np.maximum(sims[n, order], 0)
        if w.sum() == 0:
            w = np.ones_like(w)
        for q, qid in enumerate(map(str, queries.ids)):
            score = float(np.sum(w * zp[q, order]) / np.sum(w))
            out.append({"id": qid, "protein": f.name, "score": score,
                        "neighbours": [(space.names[known[i]], float(sims[n, i]), float(zp[q, i])) for i in order]})
    return out
