"""Example inputs for the zoo, typed here (not read from any data set): what ``make run`` shows and the zoo tests
use.

* :data:`MIRNAS`: well-known human mature miRNAs (miRBase sequences, 5'->3', RNA alphabet).
* :func:`motif_rnas`: published RBP motifs planted into fixed, seeded random backgrounds, plus one long RNA in
  which sites are planted far apart (scanned window by window by a windowed model).
"""

from __future__ import annotations

import numpy as np

MIRNAS: dict[str, str] = {
    "hsa-let-7a-5p": "UGAGGUAGUAGGUUGUAUAGUU",
    "hsa-miR-21-5p": "UAGCUUAUCAGACUGAUGUUGA",
    "hsa-miR-451a": "AAACCGUUACCAUUACUGAGUU",
    "hsa-miR-16-5p": "UAGCAGCACGUAAAUAUUGGCG",
    "hsa-miR-122-5p": "UGGAGUGUGACAAUGGUGUUUG",
    "hsa-miR-155-5p": "UUAAUGCUAAUCGUGAUAGGGGU",
}

# published motifs (the literature's, not a model's): PUM2 UGUAHAUA (Hafner et al. 2010), QKI ACUAAY (Galarneau &
# Richard 2005; Hafner 2010), ELAVL1 AUUUA repeats (AU-rich elements; Lebedeva et al. 2011), HNRNPC U-tracts
# (Konig et al. 2010), RBFOX2 UGCAUG (Jin et al. 2003), SRSF1 GAAGAA (Tacke & Manley 1995), TARDBP UG repeats
# (Buratti & Baralle 2001), PCBP/HNRNPK C-rich runs (Thisted et al. 2001)
MOTIFS: dict[str, str] = {
    "PUM2": "UGUAAAUA",
    "QKI": "ACUAAC",
    "ELAVL1": "AUUUAUUUAUUUA",
    "HNRNPC": "UUUUUUUUU",
    "RBFOX2": "UGCAUG",
    "SRSF1": "GAAGAA",
    "TARDBP": "UGUGUGUGUGUG",
    "HNRNPK": "CCCUCCCUCCC",
    "HNRNPK_PCBP1": "CCCUCCCUCCC",  # the same C-rich run, for PCBP1
}


def background(n: int, length: int = 101, seed: int = 0) -> list[str]:
    """``n`` random RNAs of ``length`` with uniform letters (seeded: the same everywhere)."""
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGU"), size=length)) for _ in range(n)]


def plant(seq: str, motif: str, copies: int = 3) -> str:
    """``seq`` with ``copies`` of ``motif`` written at evenly spaced places (the length is kept)."""
    s = list(seq)
    step = len(seq) // (copies + 1)
    for i in range(1, copies + 1):
        at = min(i * step - len(motif) // 2, len(seq) - len(motif))
        s[at:at + len(motif)] = motif
    return "".join(s)


def motif_rnas() -> dict[str, str]:
    """One 101-nt RNA per motif (three copies in a seeded background), the background itself, and a 1,000-nt RNA
    with PUM2 sites near its start and ELAVL1 AU-rich elements near its end."""
    bg = background(1, seed=7)[0]
    out = {"background": bg}
    out.update({f"{name}_sites": plant(bg, m) for name, m in MOTIFS.items() if name != "HNRNPK_PCBP1"})
    long = background(1, length=1000, seed=8)[0]
    long = plant(long[:200], MOTIFS["PUM2"], 2) + long[200:800] + plant(long[800:], MOTIFS["ELAVL1"], 2)
    out["long_PUM2_then_ELAVL1"] = long
    return out


def answer_examples(device: str | None = "cpu") -> dict[str, tuple[object, object]]:
    """Every zoo model's predictions on the examples its kind takes: ``{name: (Predictions, Dataset)}`` (the miRNAs
    for a whole-sequence model, :func:`motif_rnas` for a windowed one)."""
    from rnalabel.data import Dataset
    from rnalabel.engine.bundle import load_model
    from rnalabel.engine.predict import predict
    from rnalabel.zoo import names

    out = {}
    for name in names():
        model = load_model(name)
        if model.kind == "embedding":
            continue
        seqs = MIRNAS if model.kind == "whole-sequence" else motif_rnas()
        ds = Dataset.from_sequences(list(seqs), list(seqs.values()))
        out[name] = (predict(model, ds, device=device, progress=False), ds)
    return out
