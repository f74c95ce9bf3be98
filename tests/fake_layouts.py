"""Tiny copies of the public data layouts (RBP-31, eCLIP, miRNA localization), written into a tmp folder."""

from __future__ import annotations

import gzip
from pathlib import Path

Records = list[tuple[str, int]]  # (DNA sequence, class)


def write_rbp31(root: Path, experiments: dict[str, dict[str, Records]]) -> Path:
    """``root/datasets/clip/<exp>/30000/{training,test}_sample_0/sequences.fa.gz`` with iONMF headers."""
    parts = {"train": "training_sample_0", "test": "test_sample_0"}
    for exp, by_part in experiments.items():
        for part, recs in by_part.items():
            folder = root / "datasets" / "clip" / exp / "30000" / parts[part]
            folder.mkdir(parents=True, exist_ok=True)
            lines = []
            for i, (seq, cls) in enumerate(recs):
                start = 1000 + 100 * i
                lines.append(f"> chr1,+,{start},{start + len(seq)}; class:{cls}")
                lines += [seq[j:j + 60] for j in range(0, len(seq), 60)]
            (folder / "sequences.fa.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return root


def write_eclip(root: Path, files: dict[str, Records]) -> Path:
    """``root/eCLIP_Data/<stem>.gz`` of ``SEQ<TAB>label`` lines."""
    folder = root / "eCLIP_Data"
    folder.mkdir(parents=True, exist_ok=True)
    for stem, recs in files.items():
        text = "".join(f"{s}\t{y}\n" for s, y in recs)
        (folder / f"{stem}.gz").write_bytes(gzip.compress(text.encode()))
    (folder / ".AARS_K562.swp").write_bytes(b"\x00junk")  # editor junk, as upstream has
    return root


MIRLOC_CSV = (
    "id,name,seq,Exosome,Cytoplasm,Mitochondrion,Microvesicle,Circulating,Nucleus\n"
    "0,hsa-miR-1,UGGAAUGUAAAGAAGUAUGUAU,1,0,0,1,0,1\n"
    "1,hsa-miR-2,UAUCACAGCCAGCUUUGAUGUGC,0,1,1,0,1,0\n"
    "2,hsa-miR-3,UGAGGUAGUAGGUUGUAUAGUU,1,1,0,0,0,1\n"
)
