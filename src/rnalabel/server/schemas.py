"""Request and response bodies of the web API (pydantic), so that the OpenAPI schema at /docs is complete."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SequenceIn(_Strict):
    id: str = Field(..., min_length=1, max_length=200, description="Sequence id (unique within the request).")
    sequence: str = Field(..., description="RNA or DNA letters (IUPAC; T is read as U).")


class PredictRequest(_Strict):
    model: str = Field(..., description="Model name, as listed by GET /models.")
    sequences: list[SequenceIn] | None = Field(None, description="Sequences as JSON ...")
    fasta: str | None = Field(None, description="... or as FASTA text (one of the two).")
    windows: bool = Field(False, description="Also return per-window scores (windowed models).")


class WindowScores(BaseModel):
    start: int = Field(..., description="1-based first nucleotide.")
    end: int = Field(..., description="1-based last nucleotide.")
    scores: dict[str, float]


class SequencePrediction(BaseModel):
    id: str
    length: int
    scores: dict[str, float] | None = Field(None, description="Per-label probability (max over windows).")
    called: list[str] | None = Field(None, description="Labels at or above their thresholds.")
    windows: list[WindowScores] | None = None
    vector: list[float] | None = Field(None, description="Embedding models: the sequence's vector.")


class PredictResponse(BaseModel):
    model: str
    kind: str
    labels: list[str]
    thresholds: dict[str, float]
    untrained_labels: list[str] = []
    warnings: list[str] = []
    results: list[SequencePrediction]


class ExplainRequest(_Strict):
    model: str
    sequence: str = Field(..., description="One RNA; a long one is scanned and its best-scoring window explained.")
    label: str
    steps: int = Field(32, ge=4, le=200, description="Points of the integrated-gradients path.")
    baseline: Literal["zero", "shuffle"] = Field("shuffle", description="Reference: zeros or dinucleotide "
                                                 "shuffles of the sequence.")


class ExplainResponse(BaseModel):
    model: str
    label: str
    score: float = Field(..., description="Probability of the label for the explained window.")
    start: int = Field(..., description="1-based first nucleotide of the explained window.")
    sequence: str = Field(..., description="The explained window's nucleotides.")
    contributions: list[float] = Field(..., description="Integrated-gradients contribution per nucleotide.")
    completeness_gap: float
    logo_png: str = Field(..., description="The attribution map as a base64 PNG.")


class RankRequest(_Strict):
    model: str
    sequence: str | None = Field(None, description="A miRNA sequence ...")
    name: str | None = Field(None, description="... or a miRBase name (the server needs --mirbase).")
    top: int = Field(10, ge=1, le=500)
    sites: int = Field(3, ge=0, le=50, description="Nearest supporting sites per protein.")


class RankedProtein(BaseModel):
    rank: int
    protein: str
    score: float = Field(..., description="z against dinucleotide-shuffled miRNAs.")
    cosine: float | None
    experiment: str
    sites: list[tuple[str, float]]
    seed_share: float | None = Field(None, description="Share of the experiment's sites holding the query's 7mer-m8 "
                                     "seed match (null: unknown).")
    seed_z: float | None = Field(None, description="seed_share against 30 dinucleotide shuffles of the query.")


class RankResponse(BaseModel):
    model: str
    queries: dict[str, list[RankedProtein]] = Field(..., description="miRNA id -> proteins ranked.")
    warnings: list[str] = Field([], description="What changes how to read the result (e.g. a miRBase name that "
                                "matched a whole family).")


class ModelInfo(BaseModel):
    name: str
    kind: str
    model: str
    labels: list[str]
    thresholds: dict[str, float]
    window: int | None
    stride: int | None
    max_length: int | None = Field(None, description="Longest sequence accepted (whole-sequence kinds).")
    untrained_labels: list[str] = []
    can_rank: bool = False
    can_explain: bool = False
    metrics: dict[str, Any] = {}


class Health(BaseModel):
    status: Literal["ok"]
    models: int


class ErrorBody(BaseModel):
    detail: str
