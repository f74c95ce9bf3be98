"""Where the public data sets come from (mirrors the SOURCE.txt files of ``../shared/data``).

rnalabel ships importers, not data. :func:`download_commands` prints the commands that fetch each data set
from its public home on a machine with internet access; the importers then read the files in place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataSource:
    """One public data set.

    Attributes
    ----------
    name : str
        Folder name under ``data/`` and the name ``rnalabel data import/build`` uses.
    description : str
    repository : str
        GitHub ``owner/name``.
    commit : str
        The commit the importers were written against.
    paths : str
        The files inside the repository.
    licence : str
    importer : str
        The rnalabel command that reads it.
    """

    name: str
    description: str
    repository: str
    commit: str
    paths: str
    licence: str
    importer: str

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repository}"


SOURCES: tuple[DataSource, ...] = (
    DataSource("rbp31", "RBP-31 CLIP benchmark (iONMF, Strazar et al. 2016), 31 experiments",
               "xypan1232/iDeepS", "699e90f220e230306c6de7f73bac073d3e5772fc",
               "datasets/clip/<exp>/30000/{training,test}_sample_0/sequences.fa.gz",
               "none stated (also mstrazar/iONMF)", "rnalabel data build rbp31 --root DIR"),
    DataSource("eclip", "ENCODE eCLIP per-RBP binding sites, 91 RBP x cell-line experiments (EDCNN)",
               "yaweiwang1232/EDCNN", "9f86adafe8cbefe37dc6b4929f5eded55dcf391c",
               "eCLIP_Data/<RBP>_<cell> (gzip them or not)", "MIT; ENCODE data unrestricted",
               "rnalabel data build eclip --root DIR"),
    DataSource("mirna_localization", "multi-label miRNA subcellular localization (MirLocPredictor, RNALocate)",
               "muas16/MirLocPredictor", "d96cfd80ef5d40778fa9ec941dfb5c175cb835d7",
               "circSLNN_data.csv (this project's mirlocpredictor_dev.csv is 840 of its 1,047 rows)",
               "none stated", "rnalabel data build mirloc --root FILE.csv"),
    DataSource("deepmirbp", "DeepMiRBP data: RBP PSSMs, miRNA lists, per-RBP eCLIP-style sets",
               "sbbi-unl/DeepmiRBP", "24f5d200e753dab07088022f3da63268d46998b0",
               "Data/PSSM, Data/miRNA, Data/RBP-Data/<RBP>.both.fa", "none stated",
               "rnalabel data import deepmirbp Data/RBP-Data/AGO1.both.fa"),
    DataSource("proteins", "RNAcommender RBP protein sequences (AURA 67 RBPs + 144 more)",
               "gianlucacorrado/RNAcommender", "456e16d2afba551241c63ea026e16c73f0db3d3a",
               "examples/rbps_HT.fa, examples/rbps_new.fa", "MIT", "protein FASTA (read by the protein views)"),
    DataSource("mirbase", "miRBase release 18 mature and hairpin sequences", "riverlee/miRNA-SNP",
               "07ef5a5d5baa2687861038f685bf13116498fa86", "mature.fa, hairpin.fa",
               "miRBase terms (free)", "rnalabel data import fasta mature.fa"),
)


def download_commands(source: DataSource) -> str:
    """Shell commands that fetch ``source`` at its pinned commit (needs git and internet access)."""
    folder = source.repository.split("/")[1]
    return (f"git clone --filter=blob:none {source.url}.git {folder} && "
            f"git -C {folder} checkout {source.commit}")
