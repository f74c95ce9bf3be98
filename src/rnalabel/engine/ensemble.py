"""Combine trained models into one ensemble model (:class:`rnalabel.models.ensemble.Ensemble`).

The members must read the same views (same types, settings and fitted artifacts: one input dict feeds them all),
predict the same labels in the same order, and be of the same kind, window and stride; they may differ in
architecture and seed. The ensemble's logit is the mean of the members' logits. Its decision thresholds are
chosen on validation data when given (maximal F1 per label, as training does), else they are the mean of the
members' thresholds; the card records the members (recipe, seed, card checksum) and how the thresholds were set.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from rnalabel.data import Dataset
from rnalabel.data.files import jsonable, sha256_file
from rnalabel.engine.bundle import Artifact, Bundle, load_model
from rnalabel.errors import ConfigError, InputError, count_of
from rnalabel.models.registry import build_model, config_to_dict

#: how the members' outputs are combined (recorded in the card)
COMBINATION = "mean of the members' logits"


def _value_digest(value: Any) -> str:
    h = hashlib.sha256()
    if isinstance(value, np.ndarray):
        h.update(f"{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, bytes | bytearray):
        h.update(bytes(value))
    else:
        h.update(json.dumps(jsonable(value), sort_keys=True).encode())
    return h.hexdigest()


def _views_digest(b: Bundle) -> dict[str, str]:
    """Per view: one digest of its spec and its fitted artifacts."""
    out = {}
    for name, v in b.views.items():
        parts = [json.dumps(jsonable(v.spec()), sort_keys=True)]
        parts += [f"{k}:{_value_digest(a)}" for k, a in sorted(v.artifacts().items())]
        out[name] = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return out


def _artifacts_digest(arts: dict[str, Artifact]) -> dict[str, str]:
    return {k: _value_digest(a.value) for k, a in sorted(arts.items())}


def _check_compatible(members: list[Bundle], names: list[str]) -> None:
    first, fname = members[0], names[0]
    if first.kind == "embedding":
        raise InputError(f"{fname} is an embedding model; an ensemble averages label scores, and an embedding "
                         "model is used through its embeddings (index, rank).",
                         remedy="combine windowed or whole-sequence models.")
    for b, name in zip(members[1:], names[1:], strict=True):
        checks = (
            ("kind", b.kind, first.kind),
            ("labels", b.label_names, first.label_names),
            ("window", b.window, first.window),
            ("stride", b.stride, first.stride),
            ("inputs", b.inputs, first.inputs),
        )
        for what, got, want in checks:
            if got != want:
                shown = (lambda v: ", ".join(map(str, v[:8])) + (" ..." if len(v) > 8 else "")) if what == "labels" \
                    else (lambda v: str(v))
                raise InputError(f"{name} differs from {fname} in its {what} ({shown(got)} vs {shown(want)}); the "
                                 "members of an ensemble read the same inputs and predict the same labels.",
                                 remedy="combine runs trained with the same views and labels (e.g. one recipe with "
                                        "different --seed).")
        dv, fv = _views_digest(b), _views_digest(first)
        diff = sorted(n for n in set(dv) | set(fv) if dv.get(n) != fv.get(n))
        if diff:
            raise InputError(f"view {diff[0]!r} of {name} is not the one of {fname} (other settings or fitted "
                             "artifacts): one set of view inputs feeds every member.",
                             remedy="combine runs trained with the same view settings; views fitted on data "
                                    "(word2vec, neighbours) must come from the same fit.")
        if _artifacts_digest(b.artifacts) != _artifacts_digest(first.artifacts):
            raise InputError(f"the artifacts of {name} differ from those of {fname}.",
                             remedy="combine runs whose model folders hold the same artifacts.")


def combine(
    members: Sequence[Bundle | str | os.PathLike],
    val: Dataset | None = None,
    *,
    batch_size: int = 512,
    device: str | None = None,
    progress: bool = False,
    val_source: str | None = None,
) -> Bundle:
    """An ensemble :class:`~rnalabel.engine.bundle.Bundle` of ``members`` (module docstring).

    Parameters
    ----------
    members : sequence of Bundle or path
        Two or more trained models or their run folders.
    val : Dataset, optional
        Labelled rows (matched by label name) on which the thresholds are chosen and validation metrics measured;
        rows the members were trained on would make both optimistic. Default is None (the mean of the members'
        thresholds).
    val_source : str, optional
        Where ``val`` came from, for the card. Default is None.

    Raises
    ------
    InputError
        Fewer than 2 members, or members that do not read the same views or predict the same labels.
    """
    if len(members) < 2:
        raise InputError(f"an ensemble needs at least 2 members, got {len(members)}.",
                         remedy="give two or more run folders.")
    bundles, names, origins = [], [], []
    for i, m in enumerate(members):
        if isinstance(m, Bundle):
            bundles.append(m)
            names.append(f"member {i + 1}")
            origins.append({})
        else:
            from rnalabel.zoo import model_path

            d = model_path(m)
            if not (d / "card.json").is_file():
                raise InputError("not a run folder (no card.json).", path=m,
                                 remedy="give the folders `rnalabel train --out` wrote.")
            bundles.append(load_model(d, device="cpu"))
            names.append(str(m))
            origins.append({"run": str(m), "card_sha256": sha256_file(d / "card.json")})
    if any(b.recipe.model == "ensemble" for b in bundles):
        bad = next(n for b, n in zip(bundles, names, strict=True) if b.recipe.model == "ensemble")
        raise InputError(f"{bad} is itself an ensemble.", remedy="combine the runs it was made of instead.")
    _check_compatible(bundles, names)

    first = bundles[0]
    spec = [{"model": b.recipe.model, "params": config_to_dict(b.module.config)} for b in bundles]
    module = build_model("ensemble", inputs=list(first.inputs), n_labels=first.n_labels, params={"members": spec})
    state = {f"members.{i}.{k}": v for i, b in enumerate(bundles) for k, v in b.module.state_dict().items()}
    module.load_state_dict(state, strict=True)
    module.eval()
    recipe = replace(first.recipe, name="ensemble", model="ensemble", kind=first.kind, params={"members": spec},
                     description=f"ensemble ({COMBINATION}) of {count_of(len(bundles), 'model')}: "
                                 + ", ".join(dict.fromkeys(b.recipe.name for b in bundles)))
    member_info = []
    for b, o in zip(bundles, origins, strict=True):
        tr = b.card.get("training") or {}
        member_info.append({**o, "recipe": b.recipe.name, "model": b.recipe.model, "seed": b.recipe.train.seed,
                            "best_epoch": tr.get("best_epoch"),
                            "test_auroc_macro": ((b.card.get("metrics") or {}).get("test") or {})
                            .get("averages", {}).get("auroc_macro")})
    lengths = [(b.card.get("training") or {}).get("lengths") or {} for b in bundles]
    training = {
        "ensemble_of": len(bundles),
        "short_copies": min(int((b.card.get("training") or {}).get("short_copies", 0) or 0) for b in bundles),
        "precision": (first.card.get("training") or {}).get("precision"),
    }
    if all("min" in x for x in lengths):
        training["lengths"] = {"min": max(x["min"] for x in lengths), "max": min(x["max"] for x in lengths)}
    ens = Bundle(module=module, recipe=recipe, views=dict(first.views), inputs=list(first.inputs),
                 label_names=list(first.label_names), window=first.window, stride=first.stride,
                 thresholds=np.mean([b.thresholds for b in bundles], axis=0), kind=first.kind,
                 label_info=dict(first.label_info), artifacts=dict(first.artifacts))
    card: dict[str, Any] = {
        "provenance": dict(first.card.get("provenance") or {}),
        "training": training,
        "ensemble": {"combination": COMBINATION, "members": member_info,
                     "thresholds": "mean of the members' thresholds (no validation data given)"},
    }
    ens.card = card
    if val is not None:
        choose_ensemble_thresholds(ens, val, batch_size=batch_size, device=device, progress=progress,
                                   source=val_source)
    return ens


def choose_ensemble_thresholds(ens: Bundle, val: Dataset, *, batch_size: int = 512, device: str | None = None,
                               progress: bool = False, source: str | None = None):
    """Choose ``ens``'s thresholds on labelled rows (maximal F1 per label, as training does) and record them and
    the validation metrics in its card.

    Returns
    -------
    MultiLabelScores
        The validation scores at the new thresholds.
    """
    from rnalabel.engine.evaluate import align_labels
    from rnalabel.engine.forward import sequence_scores
    from rnalabel.engine.metrics import choose_thresholds, evaluate_arrays

    if not len(val):
        raise InputError("the validation data for the ensemble's thresholds is empty.",
                         remedy="give labelled rows with a val split, or none.")
    y = align_labels(ens, val)
    s = sequence_scores(ens, val, batch_size=batch_size, device=device, progress=progress)
    ens.thresholds = choose_thresholds(y, s)
    scores = evaluate_arrays(y, s, label_names=ens.label_names, thresholds=ens.thresholds)
    scores.split = "val"
    ens.card.setdefault("metrics", {})["val"] = scores.to_dict()
    ens.card.setdefault("ensemble", {})["thresholds"] = (f"maximal F1 per label on {count_of(len(val), 'row')}"
                                                         + (f" of {source}" if source else ""))
    return scores


def refuse_training(model_name: str) -> None:
    """Ensembles are combined from trained runs, not trained: raise for a recipe whose model is ``ensemble``."""
    if model_name == "ensemble":
        raise ConfigError("an ensemble is not trained as one model (its members would learn together: one wider "
                          "model, not an ensemble).",
                          remedy="train the members one by one (e.g. --seed 0, 1, 2), then: rnalabel ensemble RUN1 "
                                 "RUN2 RUN3 --out DIR --data TABLE.")
