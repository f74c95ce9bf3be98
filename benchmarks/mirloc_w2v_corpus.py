"""Does the word2vec (syntactic) view of MMLmiRLocNet gain from k-mer vectors learned on an unlabelled corpus?

The recipe learns its skip-gram vectors from the training split only (840 miRNAs in all, about 600 in training).
This script trains the same vectors (same k, dim, window, epochs, seed) on the mature miRNAs of all species in
miRBase, or on mature + hairpin sequences, and fits the recipe with them in place of the training-split vectors,
on the same seeded 72/8/20 splits as ``benchmarks/mirloc.py`` (6 labels). Like the LM corpus, miRBase holds the
benchmark's own miRNAs (never their labels).

    python benchmarks/mirloc_w2v_corpus.py --out benchmarks/results/mirloc_w2v_corpus.md
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mirloc  # noqa: E402
from rbp31 import git_commit, reproduce_footer  # noqa: E402

from rnalabel.data import Dataset, write_text_atomic  # noqa: E402
from rnalabel.io.fasta import read_fasta_dataset  # noqa: E402
from rnalabel.views import word2vec as w2v  # noqa: E402
from rnalabel.views.kmer import kmer_names  # noqa: E402

ROWS = ("MMLmiRLocNet (k-mer + word2vec)", "word2vec view alone (fusion)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data/mirna_localization")
    ap.add_argument("--mirbase", default="../shared/data/mirbase")
    ap.add_argument("--out", default="benchmarks/results/mirloc_w2v_corpus.md")
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    t0, commit = time.perf_counter(), git_commit()
    mb = Path(args.mirbase)
    corpora = {"training split (the recipe)": None, "miRBase mature": [mb / "mature.fa"],
               "miRBase mature + hairpin": [mb / "mature.fa", mb / "hairpin.fa"]}
    vectors: dict[str, np.ndarray] = {}
    sizes: dict[str, int] = {}
    chosen: dict[str, str | None] = {"corpus": None}
    fit_on_split = w2v.Word2Vec.fit

    def fit(view, dataset):  # the view's own fit, or the vectors of the chosen corpus
        name = chosen["corpus"]
        if corpora[name] is None:
            return fit_on_split(view, dataset)
        if name not in vectors:
            parts = [read_fasta_dataset(f) for f in corpora[name]]
            ds = Dataset.concat(parts) if len(parts) > 1 else parts[0]
            sizes[name] = len(ds)
            vectors[name] = w2v.train_kmer_vectors(ds.tokens, ds.lengths, k=view.k, dim=view.dim,
                                                   window=view.window, epochs=view.epochs, seed=view.seed)
        return replace(view, vectors=vectors[name], vocabulary=kmer_names(view.k))

    w2v.Word2Vec.fit = fit
    results: dict[tuple[str, str], list[dict]] = {}
    full = mirloc.build("mirloc", args.data, split=None, labels=None)
    try:
        for seed, ds in mirloc.splits(full, [int(s) for s in args.seeds.split(",")], 0):
            recipes = mirloc.methods(seed)
            for row in ROWS:
                for name in corpora:
                    chosen["corpus"] = name
                    r, _ = mirloc.network(recipes[row], ds)
                    results.setdefault((row, name), []).append(r)
                    print(f"seed {seed} {row} / {name}: AucMacro {r['AucMacro']:.3f}", flush=True)
    finally:
        w2v.Word2Vec.fit = fit_on_split
    L = ["# MMLmiRLocNet: word2vec vectors from the training split or from miRBase", "",
         f"Data: `{args.data}` (840 miRNAs, 6 labels); per seed ({args.seeds}) the iterative-stratification split "
         "72/8/20 of `benchmarks/mirloc.py`, metrics as there, mean ± sd over seeds. Vectors: gensim skip-gram "
         "with the recipe's settings, learned on the corpus named (the recipe: the training split only). "
         + "; ".join(f"{k}: {v:,} sequences" for k, v in sizes.items()) + ".", "",
         "| method | word2vec vectors from | " + " | ".join(mirloc.ORDER) + " |",
         "|---|---|" + "---|" * len(mirloc.ORDER)]
    for (row, name), rs in results.items():
        L.append(f"| {row} | {name} | " + " | ".join(mirloc.metric_cells(rs)) + " |")
    L += reproduce_footer(commit, t0)
    write_text_atomic(args.out, "\n".join(L))
    print("\n".join(L))


if __name__ == "__main__":
    main()
