"""Build a zoo model from the public data: one command per model, rerunnable by anyone.

::

    python -m rnalabel.zoo build rbp31 --data ../shared/data [--max-epochs 8] [--resume]
    python -m rnalabel.zoo build mirloc --data ../shared/data

Each build reads the public files, trains the model's recipe with a fixed seed (checkpointed every epoch in
``--work``, so ``--resume`` continues a killed build), and writes the model folder (default: the package's
``zoo/models/NAME``) with a ``zoo`` section in its card: the data files and their SHA-256, the recipe, the seed,
the commit, the wall time, the epochs, the licence of the data, the proteins the labels stand for, and per label
the precision of a call at the stored threshold on the held-out rows.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnalabel.zoo import ZOO_DIR


def _commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=here).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=here).stdout.strip()
        return out + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@dataclass(frozen=True)
class ZooSpec:
    """How one zoo model is made."""

    name: str
    recipe: str
    files: Callable[[Path], list[Path]]  # the data files read, for their checksums
    dataset: Callable[[Path], Any]  # data root -> Dataset with a split
    settings: tuple[str, ...] = ()  # recipe --set items; {data} is the data root
    licence: str = ""
    source: str = ""
    max_epochs: int | None = None
    proteins: Callable[[list[str]], dict[str, str]] | None = None


def _rbp31_files(root: Path) -> list[Path]:
    return sorted((root / "rbp31" / "datasets").rglob("*.fa.gz"))


def _rbp31_dataset(root: Path):
    from rnalabel.io.benchmark_sets import build_rbp31_multitask

    return build_rbp31_multitask(root / "rbp31")


# RBP-31 experiment number -> gene symbol of the protein, protocol (and cell line or variant where the folder says)
RBP31_PROTEINS = {
    1: "AGO1-4 (PAR-CLIP)", 2: "AGO2 (PAR-CLIP, MNase)", 3: "AGO2 (HITS-CLIP)", 4: "AGO2 (HITS-CLIP, set 2)",
    5: "AGO2 (CLIP-seq)", 6: "EIF4A3 (CLIP-seq)", 7: "EIF4A3 (CLIP-seq, set 2)", 8: "ELAVL1 (PAR-CLIP)",
    9: "ELAVL1 (PAR-CLIP, MNase)", 10: "ELAVL1 (PAR-CLIP, set A)", 11: "ELAVL1 (CLIP-seq)", 12: "EWSR1 (PAR-CLIP)",
    13: "FUS (PAR-CLIP)", 14: "FUS mutant (PAR-CLIP)", 15: "IGF2BP1-3 (PAR-CLIP)", 16: "HNRNPC (iCLIP, HeLa)",
    17: "HNRNPC (iCLIP)", 18: "HNRNPL (iCLIP, HeLa)", 19: "HNRNPL (iCLIP, U266)", 20: "HNRNPLL (iCLIP, U266)",
    21: "MOV10 (PAR-CLIP)", 22: "NSUN2 (iCLIP, HEK293)", 23: "PUM2 (PAR-CLIP)", 24: "QKI (PAR-CLIP)",
    25: "SRSF1 (CLIP-seq)", 26: "TAF15 (PAR-CLIP)", 27: "TARDBP (iCLIP)", 28: "TIA1 (iCLIP)", 29: "TIAL1 (iCLIP)",
    30: "U2AF2 (iCLIP, HeLa)", 31: "U2AF2 (iCLIP, HeLa, control + knock-down)",
}


def _rbp31_proteins(labels: list[str]) -> dict[str, str]:
    out = {}
    for lab in labels:
        head = lab.split("_", 1)[0]
        out[lab] = RBP31_PROTEINS.get(int(head), lab) if head.isdigit() else lab
    return out


def _eclip_files(root: Path) -> list[Path]:
    return sorted((root / "eclip" / "eCLIP_Data").glob("*.gz"))


def _eclip_dataset(root: Path):
    from dataclasses import replace

    from rnalabel.data import split_iterative
    from rnalabel.io.benchmark_sets import build_eclip_multilabel

    # unbound windows as many as the bound ones (the benchmark join keeps 5,000: a model trained on it has hardly
    # seen an RNA that nothing binds and calls RBPs on any transcript). The `negative` pseudo-label ("bound in
    # no experiment") is dropped: it is no protein; an unbound row is all zeros.
    ds = build_eclip_multilabel(root / "eclip", n_negative=328_547, seed=0)
    keep = [i for i, n in enumerate(ds.label_names) if n != "negative"]
    ds = replace(ds, labels=ds.labels[:, keep], label_names=[ds.label_names[i] for i in keep],
                 provenance={**ds.provenance, "unbound_rows": 328_547, "negative_label": "dropped"})
    return split_iterative(ds, (0.7, 0.1, 0.2), seed=0)


def _eclip_proteins(labels: list[str]) -> dict[str, str]:
    out = {}
    for lab in labels:
        protein, _, cell = lab.rpartition("_")
        out[lab] = f"{protein} (eCLIP, {cell})" if protein else lab
    return out


def _mirloc_files(root: Path) -> list[Path]:
    return [root / "mirna_localization" / "mirlocpredictor_dev.csv", root / "mirbase" / "hairpin.fa"]


def _mirloc_dataset(root: Path):
    from rnalabel.data import split_iterative
    from rnalabel.io.benchmark_sets import build_mirna_localization

    # all 840 miRNAs: 90 % to train, 10 % held out for early stopping and thresholds (no test part: the
    # 10-fold figure of benchmarks/results/mirloc_precursors_cv10.md is what to expect on new miRNAs)
    return split_iterative(build_mirna_localization(root / "mirna_localization"), (0.9, 0.1, 0.0), seed=0)


SPECS: dict[str, ZooSpec] = {
    "eclip91": ZooSpec(
        name="eclip91", recipe="multiresbind", files=_eclip_files, dataset=_eclip_dataset,
        licence="ENCODE eCLIP sets via yaweiwang1232/EDCNN: MIT; the ENCODE data are unrestricted",
        source="91 ENCODE eCLIP experiments (K562, HepG2; Van Nostrand et al. 2020) joined by exact sequence, "
               "101-nt windows: 328,547 bound windows and as many unbound ones drawn from the experiments' "
               "negatives; 70/10/20 iterative stratified split (seed 0), the test part scored once",
        proteins=_eclip_proteins,
    ),
    "rbp31": ZooSpec(
        name="rbp31", recipe="rbp31_multitask", files=_rbp31_files, dataset=_rbp31_dataset,
        licence="RBP-31 (iONMF, Strazar et al. 2016, via xypan1232/iDeepS): no licence stated upstream",
        source="31 CLIP experiments (PAR-CLIP, HITS-CLIP, iCLIP, CLIP-seq) of 19 proteins, 101-nt windows; the "
               "published training parts (training rows also in a test part dropped), 10 % held out for early "
               "stopping and thresholds; the published test parts scored once",
        proteins=_rbp31_proteins,
    ),
    "mirloc": ZooSpec(
        name="mirloc", recipe="mmlmirlocnet_neighbours", files=_mirloc_files, dataset=_mirloc_dataset,
        settings=("views.nb.precursors={data}/mirbase/hairpin.fa",),
        licence="MirLocPredictor data (Asim et al. 2020, RNALocate-derived): no licence stated; miRBase v18 hairpins",
        source="840 human miRNAs with their compartments (Exosome, Cytoplasm, Mitochondrion, Microvesicle, "
               "Circulating, Nucleus); 90 % trained on, 10 % for thresholds. The neighbours view keeps the training "
               "miRNAs, their compartments and the miRBase hairpins that hold them as artifacts.",
    ),
}


def precision_at_threshold(y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray,
                           labels: list[str]) -> dict[str, dict[str, float | int | None]]:
    """Per label: calls made at the stored threshold on known rows, the share of them that are true
    (precision), the share of known negatives called, and the share of rows bound by no label called (the
    false-call rate a user meets on ordinary, unbound RNA)."""
    out = {}
    unbound = np.all(np.nan_to_num(y, nan=0.0) == 0, axis=1)  # rows no RBP of the model binds
    for j, lab in enumerate(labels):
        m = ~np.isnan(y[:, j])
        t, s = y[m, j], scores[m, j]
        called = s >= thresholds[j]
        n_called = int(called.sum())
        neg = t == 0
        out[lab] = {
            "calls": n_called,
            "precision": None if n_called == 0 else round(float(t[called].mean()), 4),
            "false_call_rate": None if not neg.any() else round(float(called[neg].mean()), 4),
            "false_call_rate_unbound": None if not unbound.any()
            else round(float((scores[unbound, j] >= thresholds[j]).mean()), 4),
        }
    return out


def build(name: str, data: str | Path, *, out: str | Path | None = None, work: str | Path | None = None,
          max_epochs: int | None = None, resume: bool = False, progress: bool = False) -> Path:
    """Train zoo model ``name`` on the public data under ``data`` and write its folder; returns the folder."""
    from rnalabel.data.files import atomic_dir, sha256_file
    from rnalabel.engine.bundle import save_model
    from rnalabel.engine.recipe import load_recipe
    from rnalabel.engine.training import fit

    spec = SPECS[name]
    root = Path(data).resolve()
    out = Path(out) if out is not None else ZOO_DIR / name
    work = Path(work) if work is not None else Path("runs") / f"zoo_{name}"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    files = spec.files(root)
    checksums = {str(p.relative_to(root)): sha256_file(p) for p in files}
    rec = load_recipe(spec.recipe)
    if spec.settings:
        rec = rec.with_settings([s.format(data=root) for s in spec.settings])
    cap = max_epochs if max_epochs is not None else spec.max_epochs
    if cap is not None:
        rec = rec.with_train(max_epochs=cap)
    ds = spec.dataset(root)
    model, report = fit(rec, ds, progress=progress, checkpoint=work / "state", resume=resume)
    split = "test" if "test" in report.outputs else "val"
    y, scores = report.outputs[split]
    epochs = len(report.history)
    stopped = "early stopping" if epochs < rec.train.max_epochs else f"the epoch cap ({rec.train.max_epochs})"
    model.card["zoo"] = {
        "name": name,
        "command": f"python -m rnalabel.zoo build {name} --data DATA"
                   + (f" --max-epochs {cap}" if cap is not None else ""),
        "recipe": rec.name,
        "settings": [s.format(data="DATA") for s in spec.settings],
        "seed": rec.train.seed,
        "commit": _commit(),
        "data": spec.source,
        "licence": spec.licence,
        "data_files": checksums,
        "epochs": {"run": epochs, "best": report.best_epoch, "cap": rec.train.max_epochs, "ended_by": stopped},
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "calls_on": split,
        "calls": precision_at_threshold(y, scores, np.asarray(model.thresholds), model.label_names),
        **({"proteins": spec.proteins(model.label_names)} if spec.proteins else {}),
    }
    # the training machine's paths say nothing to a user and change with the checkout
    for v in (model.card.get("provenance") or {}), :
        for k in list(v):
            if isinstance(v[k], str) and str(root) in v[k]:
                v[k] = v[k].replace(str(root), "DATA")
    with atomic_dir(out, overwrite=True) as folder:
        save_model(model, folder)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rnalabel.zoo", description="Build zoo models from the public data.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="train one zoo model and write it into the package (or --out)")
    b.add_argument("name", choices=sorted(SPECS))
    b.add_argument("--data", required=True, help="the folder holding the public data sets (../shared/data)")
    b.add_argument("--out", default=None, help="model folder to write (default: the package's zoo folder)")
    b.add_argument("--work", default=None, help="checkpoints (default runs/zoo_NAME)")
    b.add_argument("--max-epochs", type=int, default=None, help="cap on epochs (default: the recipe's)")
    b.add_argument("--resume", action="store_true", help="continue a killed build from its last epoch")
    b.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    out = build(args.name, args.data, out=args.out, work=args.work, max_epochs=args.max_epochs,
                resume=args.resume, progress=args.progress)
    print(f"{args.name} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
