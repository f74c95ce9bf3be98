"""rnalabel's RNA language model: BERT-exact, saved and loaded safely (also from a HuggingFace folder), pretrained
with progress, and resumed after an interruption to the same weights as an uninterrupted run."""

import json

import numpy as np
import pytest
import torch

from rnalabel.engine.lm_pretrain import PretrainSettings, mask_batch, pretrain
from rnalabel.errors import ConfigError, InputError, ModelFileError, SequenceError
from rnalabel.io.lm import load_lm, save_lm
from rnalabel.models.rnalm import RNALM, VOCAB, LMConfig, encode_rna

TINY = LMConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                max_position_embeddings=34)
IDS = {t: i for i, t in enumerate(VOCAB)}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, demo_small):
    p = tmp_path_factory.mktemp("corpus") / "rna.fa"
    p.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(demo_small.sequences[:300])))
    return p


def test_inputs_and_masking():
    ids = encode_rna(np.array([[0, 1, 2, 3, 4], [3, 3, 4, 4, 4]], np.uint8), np.array([5, 2]), token_ids=IDS,
                     max_nucleotides=4)
    assert ids.tolist() == [[2, 5, 6, 7, 8, 3], [2, 8, 8, 3, 0, 0]]  # cut at 4 nt; [CLS] ... [SEP] [PAD]
    batch = torch.from_numpy(encode_rna(np.zeros((200, 30), np.uint8), np.full(200, 30), token_ids=IDS,
                                        max_nucleotides=30))
    inputs, labels = mask_batch(batch, mask_prob=0.15, generator=torch.Generator().manual_seed(0))
    asked = labels != -100
    assert 0.12 < asked.float().sum() / (200 * 30) < 0.18 and not asked[:, 0].any() and not asked[:, -1].any()
    assert 0.75 < (inputs[asked] == IDS["[MASK]"]).float().mean() < 0.85


def test_save_load_and_huggingface_layout(tmp_path):
    m = RNALM(TINY).eval()
    d = save_lm(tmp_path / "lm", m)
    lm = load_lm(d)
    ids = torch.tensor([[2, 5, 6, 7, 8, 3]])
    torch.testing.assert_close(lm.module(ids), m(ids))
    (d / "config.json").write_text(json.dumps({**json.loads((d / "config.json").read_text()), "hidden_size": 8}))
    with pytest.raises(ModelFileError, match="config.json does not match the checksum"):
        load_lm(d)
    # a BertModel folder as HuggingFace writes it: no "bert." prefix, a pooler, no MLM head, no card
    hf = tmp_path / "hf"
    hf.mkdir()
    from safetensors.torch import save_file

    state = {k[len("bert."):]: v for k, v in m.weights().items() if k.startswith("bert.")}
    state["pooler.dense.weight"] = torch.zeros(16, 16)
    save_file(state, str(hf / "model.safetensors"))
    (hf / "config.json").write_text(json.dumps(TINY.to_json()))
    (hf / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "A", "C", "G", "T", "N"]))
    other = load_lm(hf)
    assert other.source == "huggingface" and other.card["mlm_head"] == "random"
    assert other.token_ids["U"] == other.token_ids["T"] == 8
    torch.testing.assert_close(other.module.hidden_states(ids), m.hidden_states(ids))
    (hf / "vocab.txt").write_bytes(b"\xff\xfe\x00\x9c garbage")
    with pytest.raises(ModelFileError, match="vocab.txt is not a UTF-8"):
        load_lm(hf)
    (hf / "model.safetensors").unlink()
    torch.save(state, hf / "pytorch_model.bin")
    with pytest.raises(ModelFileError, match="pytorch_model.bin is a pickle"):
        load_lm(hf)


def test_same_outputs_as_transformers_bert():
    transformers = pytest.importorskip("transformers")
    m = RNALM(TINY).eval()
    cfg = {k: v for k, v in TINY.to_json().items() if k not in ("model_type", "architectures")}
    hf = transformers.BertForMaskedLM(transformers.BertConfig(**cfg)).eval()
    hf.load_state_dict(m.weights(), strict=False)
    ids = torch.tensor([[2, 5, 6, 7, 8, 9, 3], [2, 8, 3, 0, 0, 0, 0]])
    with torch.no_grad():
        ours, theirs = m(ids), hf(input_ids=ids, attention_mask=(ids != 0).long()).logits
    torch.testing.assert_close(ours[ids != 0], theirs[ids != 0], atol=1e-5, rtol=1e-5)


def test_interrupted_pretraining_resumes_to_the_same_model(corpus, tmp_path, monkeypatch):
    import rnalabel.engine.lm_pretrain as lmp

    settings = PretrainSettings(epochs=3, steps_per_epoch=4, batch_size=16, val_fraction=0.1, precision="32")
    whole, report = pretrain([corpus], tmp_path / "whole", config=TINY, settings=settings, progress=False)
    assert len(report.history) == 3 and 0 <= report.val_accuracy <= 1 and report.val_perplexity > 1
    assert not (tmp_path / "whole" / "checkpoint").exists()

    calls = {"n": 0}
    real = lmp.mask_batch

    def interrupting(*a, **k):
        calls["n"] += 1
        if calls["n"] == 4 + 2 + 3:  # training step 7 of 12 (epoch 2, after epoch 1's 4 steps + 2 validation)
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(lmp, "mask_batch", interrupting)
    with pytest.raises(KeyboardInterrupt):
        pretrain([corpus], tmp_path / "cut", config=TINY, settings=settings, progress=False)
    assert (tmp_path / "cut" / "checkpoint" / "last.ckpt").exists() and not (tmp_path / "cut" / "card.json").exists()
    monkeypatch.setattr(lmp, "mask_batch", real)
    with pytest.raises(InputError, match="another corpus, model shape or settings"):
        pretrain([corpus], tmp_path / "cut", config=TINY, settings=PretrainSettings(**{**settings.__dict__, "lr": 1e-3}),
                 resume=True, progress=False)
    with pytest.raises(InputError, match="already holds files"):
        pretrain([corpus], tmp_path / "cut", config=TINY, settings=settings, progress=False)
    resumed, r2 = pretrain([corpus], tmp_path / "cut", config=TINY, settings=settings, resume=True, progress=False)
    assert r2.resumed_from_epoch == 1 and len(r2.history) == 3
    for (k, a), b in zip(whole.module.weights().items(), resumed.module.weights().values(), strict=True):
        torch.testing.assert_close(a, b, msg=k)
    assert r2.val_accuracy == pytest.approx(report.val_accuracy)


@pytest.mark.filterwarnings("ignore::rnalabel.engine.bundle.ShortSequenceWarning")
def test_lm_view_in_a_bundle(tmp_path, demo_small):
    from dataclasses import replace

    from rnalabel import fit, load_model, load_recipe, predict, save_model
    from rnalabel.data import Dataset
    from rnalabel.views import build_view

    d = save_lm(tmp_path / "lm", RNALM(TINY))
    view = build_view({"type": "lm", "path": str(d), "length": 20})
    with pytest.raises(Exception, match="has not read its language model|no language model"):
        view.transform(demo_small)
    fitted = view.fit(demo_small)
    ds = Dataset.from_sequences(["a", "b"], ["ACGUACGU", "A" * 20])
    x = fitted.transform(ds)
    assert x.shape == (2, 16, 20) and np.all(x[0, :, 8:] == 0) and np.abs(x[1]).sum() > 0
    for n in (21, 33):  # longer than the view's 20, or than the LM's 32: refused, never cut
        with pytest.raises(SequenceError, match=f"is {n} nt long, longer than the 20 nt the lm view"):
            fitted.transform(Dataset.from_sequences(["c"], ["A" * n]))
    h = load_lm(d).module.hidden_states(torch.tensor([[2, 5, 6, 7, 8, 5, 6, 7, 8, 3]]))
    np.testing.assert_allclose(x[0, :, :8], h[0, 1:9].detach().numpy().T, atol=1e-5)
    rand = build_view({"type": "lm", "path": str(d), "length": 20, "random_init": True}).fit(demo_small)
    assert not np.allclose(rand.transform(ds), x)
    # the mmlmirlocnet recipe with the semantic view: the bundle carries the language model
    rec = load_recipe("mmlmirlocnet")
    rec = replace(rec, params={**rec.params, "hidden": 8, "filters": 4},
                  views={"kmer": {"type": "kmer", "k": [1, 2]}, "lm": {"type": "lm", "path": str(d), "length": 40}},
                  train=replace(rec.train, max_epochs=1))
    with pytest.raises(SequenceError, match="the lm view \\(length 40, language model 32 nt\\)"):
        fit(rec, demo_small, progress=False, device="cpu")  # 101-nt RNAs, a 32-nt language model
    short = Dataset.from_sequences(list(demo_small.ids), [s[:32] for s in demo_small.sequences], demo_small.labels,
                                   demo_small.label_names, split=demo_small.split)
    model, _ = fit(rec, short, progress=False, device="cpu")
    run = save_model(model, tmp_path / "run")
    (d / "model.safetensors").unlink()  # the LM folder is no longer needed
    loaded = load_model(run)
    assert loaded.views["lm"].config["hidden_size"] == 16
    np.testing.assert_allclose(predict(loaded, ds, progress=False).scores, predict(model, ds, progress=False).scores,
                               atol=1e-6)


def test_review_fixes_vocabularies_checksums_configs_and_splits(tmp_path, corpus):
    from rnalabel.engine.lm_pretrain import read_corpus
    from rnalabel.engine.metrics import PAPER_METRICS, evaluate_arrays
    from rnalabel.io.lm import nucleotide_ids

    assert nucleotide_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "c", "g", "t"])["U"] == 8
    with pytest.raises(ModelFileError, match="no single-letter token for A"):
        nucleotide_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "AAA", "AAC"])
    d = save_lm(tmp_path / "lm", RNALM(TINY))
    card = json.loads((d / "card.json").read_text())
    (d / "card.json").write_text(json.dumps({k: v for k, v in card.items() if k != "files"}))
    with pytest.raises(ModelFileError, match="lacks the checksums"):
        load_lm(d)
    (d / "card.json").write_text(json.dumps(card))
    (d / "config.json").write_text("[1, 2]")
    card["files"]["config.json"] = __import__("hashlib").sha256(b"[1, 2]").hexdigest()
    (d / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="config.json cannot be used"):
        load_lm(d)
    with pytest.raises(Exception, match="max_position_embeddings must be at least 3"):
        LMConfig(max_position_embeddings=2)
    assert RNALM(TINY).bert.embeddings.word_embeddings.weight[0].abs().sum() == 0  # [PAD] starts at zero
    c = read_corpus([corpus], max_nucleotides=30, val_fraction=0.1, seed=0)
    train = {bytes(r) for r in c.train}
    assert c.val.shape[0] > 0 and not any(bytes(r) in train for r in c.val)  # no RNA on both sides
    held = tmp_path / "held_out.fa"  # 40 of the corpus's RNAs (one in lower case and DNA letters), and one new one
    seqs = [line for line in corpus.read_text().splitlines() if not line.startswith(">")]
    held.write_text("".join(f">t{i}\n{s}\n" for i, s in enumerate(seqs[:39]))
                    + f">t39\n{seqs[39].lower().replace('u', 't')}\n>new\nACGUACGUACGU\n")
    cx = read_corpus([corpus], max_nucleotides=200, val_fraction=0.1, seed=0, exclude=[held])
    kept = {bytes(r) for r in np.concatenate([cx.train, cx.val])}
    gone = read_corpus([held], max_nucleotides=200, val_fraction=0.0, seed=0).train
    assert cx.info["excluded"] == 40 and cx.info["distinct"] - 40 == len(kept)
    assert not any(bytes(r) in kept for r in gone)  # no held-out RNA is left, on either side
    assert cx.info["exclude_files"][0]["sequences"] == 41
    with pytest.raises(InputError, match="once 300 excluded ones are dropped"):
        read_corpus([corpus], max_nucleotides=200, val_fraction=0.1, seed=0, exclude=[corpus])
    m = evaluate_arrays(np.full((3, 2), np.nan), np.zeros((3, 2))).averages
    assert all(np.isnan(m[k]) for k in PAPER_METRICS.values())


def test_length_batches_cover_the_epoch_once_and_trim_padding():
    from rnalabel.engine.lm_pretrain import TOKEN_IDS, EpochSlices, LengthBatches, trim_batch

    rng = np.random.default_rng(3)
    lengths = rng.integers(3, 40, size=500)
    items = EpochSlices(500, 300, seed=1)
    batches = LengthBatches(items, lengths, batch_size=16, pool=4)
    for epoch in (0, 1):
        batches.set_epoch(epoch)
        got = [i for b in batches for i in b]
        items.set_epoch(epoch)
        assert sorted(got) == sorted(items) and len(list(batches)) == len(batches) == 19
    batches.set_epoch(0)
    first = list(batches)
    batches.set_epoch(0)
    assert list(batches) == first  # a function of (seed, epoch): a resumed run sees the same batches
    spread = np.mean([np.ptp(lengths[np.asarray(b)]) for b in first])
    assert spread < 0.5 * np.ptp(lengths)  # sorted pools: far tighter than random batches
    pad = TOKEN_IDS["[PAD]"]
    rows = [torch.tensor([2, 5, 6, 3, pad, pad, pad]), torch.tensor([2, 5, 3, pad, pad, pad, pad])]
    assert trim_batch(rows, multiple=1).tolist() == [[2, 5, 6, 3], [2, 5, 3, pad]]
    assert trim_batch(rows, multiple=3).tolist() == [[2, 5, 6, 3, pad, pad], [2, 5, 3, pad, pad, pad]]
    assert trim_batch(rows).shape == (2, 7)  # never wider than the rows


@pytest.mark.parametrize("bucket", [True, False])
def test_each_epoch_trains_on_other_batches(tmp_path, monkeypatch, bucket):
    import rnalabel.engine.lm_pretrain as lmp

    rng = np.random.default_rng(0)  # 4-32 nt: the corpus's widest row is 34 tokens
    varied = tmp_path / "varied.fa"
    varied.write_text("".join(f">v{i}\n{''.join(rng.choice(list('ACGU'), rng.integers(4, 33)))}\n" for i in range(300)))
    seen: list[torch.Tensor] = []
    real = lmp.mask_batch

    def recording(ids, **k):
        seen.append(ids.clone())
        return real(ids, **k)

    monkeypatch.setattr(lmp, "mask_batch", recording)
    settings = PretrainSettings(epochs=2, steps_per_epoch=6, batch_size=8, val_fraction=0.1, precision="32",
                                bucket_batches=bucket)
    lm, report = pretrain([varied], tmp_path / "b", config=TINY, settings=settings, progress=False)
    assert len(report.history) == 2 and report.val_perplexity > 1
    n_val = (len(seen) - 12) // 2  # per epoch: 6 training steps, then the validation batches
    first, second = seen[:6], seen[6 + n_val:12 + n_val]
    rows = [sorted(map(tuple, b.tolist())) for b in first], [sorted(map(tuple, b.tolist())) for b in second]
    assert rows[0] != rows[1]  # the sampler's epoch is set (by Lightning), so epoch 2 draws other sequences
    widths = [b.shape[1] for b in first + second]
    if bucket:  # each batch as wide as its longest row, rounded up to 8 columns (at most the corpus's 34)
        assert all(w == min(34, -(-int((b != 0).sum(1).max()) // 8) * 8) for w, b in zip(widths, first + second, strict=True))
        assert min(widths) < 34
    else:
        assert set(widths) == {34}


def test_bucket_setting_is_checked():
    with pytest.raises(ConfigError, match="bucket_batches"):
        PretrainSettings(bucket_batches="yes")


def test_pretrain_refusals_say_what_to_do(tmp_path, corpus):
    """A corpus left empty by --exclude, a single RNA (it gave an LM with NaN metrics), --overwrite into a folder
    rnalabel did not write (the message asked for --overwrite), a hidden size heads do not divide: each refused
    with a remedy that names a real option, and nothing is written."""

    one = tmp_path / "one.fa"
    one.write_text(">a\nACGUACGUACGUACGUACGU\n")
    fast = PretrainSettings(epochs=1)
    with pytest.raises(InputError, match="check that --exclude is not the corpus itself"):
        pretrain([corpus], tmp_path / "a", config=TINY, settings=fast, progress=False, exclude=[corpus])
    with pytest.raises(InputError, match="only 1 distinct sequence.*at least 2"):
        pretrain([one], tmp_path / "b", config=TINY, settings=fast, progress=False)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match="not written by rnalabel") as e:
        pretrain([corpus], tmp_path / "mine", config=TINY, settings=fast, progress=False, overwrite=True)
    assert "--overwrite" not in str(e.value) and (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "one.fa"]
    with pytest.raises(ConfigError, match="choose --hidden as a multiple of --heads \\(e.g. 28 or 32"):
        LMConfig(hidden_size=30, num_attention_heads=4)


def test_a_config_json_with_a_string_size_is_refused_by_name(tmp_path):
    """"hidden_size": "16" in config.json leaked Python's 'not all arguments converted during string formatting'."""
    d = save_lm(tmp_path / "lm", RNALM(TINY))
    cfg = json.loads((d / "config.json").read_text())
    cfg["hidden_size"] = str(cfg["hidden_size"])
    (d / "config.json").write_text(json.dumps(cfg))
    (d / "card.json").unlink()  # a folder without rnalabel's checksums, like a HuggingFace one
    with pytest.raises((ConfigError, ModelFileError), match="hidden_size must be a positive whole number, got '16'"):
        load_lm(d)
