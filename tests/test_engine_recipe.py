import numpy as np
import pytest

from rnalabel.engine.recipe import Recipe, TrainConfig, load_recipe, recipe_names
from rnalabel.errors import ConfigError


def test_builtin_recipes_load_and_build():
    from rnalabel.views.base import views_from_specs

    names = recipe_names()
    assert {"multiresbind", "deepripe", "deepbind"} <= set(names)
    for n in names:
        r = load_recipe(n)
        assert r.model and r.views
        views_from_specs(r.views)


def test_default_recipe_is_the_paper():
    r = load_recipe("multiresbind")
    assert r.params["filters"] == 96 and r.params["first_kernel"] == 11
    assert r.train.lr == 1e-3 and r.train.batch_size == 128 and r.train.max_epochs == 40


def test_recipe_file_errors(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("model: multiresbind\nviews: {seq: {type: onehot}}\nbogus: 1\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_recipe(p)
    p.write_text("model: multiresbind\ntrain: {epochz: 3}\n")
    with pytest.raises(ConfigError, match="train section"):
        load_recipe(p)
    p.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_recipe(p)
    with pytest.raises(ConfigError, match="unknown recipe"):
        load_recipe("no-such-recipe")
    with pytest.raises(ConfigError, match="unknown loss"):
        TrainConfig(loss="hinge")


def test_with_train_overrides_ignore_none():
    r = Recipe(name="x", model="multiresbind")
    r2 = r.with_train(max_epochs=3, lr=None)
    assert r2.train.max_epochs == 3 and r2.train.lr == r.train.lr
    assert r.train.max_epochs == 40  # the original is unchanged


def test_unknown_view_type_and_param():
    from rnalabel.views import build_view

    with pytest.raises(ConfigError, match="unknown view type"):
        build_view({"type": "nope"})
    with pytest.raises(ConfigError, match="no parameter"):
        build_view({"type": "onehot", "padding": 1})


def test_precision_auto_resolves_by_hardware(monkeypatch):
    from rnalabel import _runtime as runtime
    from rnalabel.engine.recipe import TrainConfig

    assert TrainConfig(precision="auto").precision == "auto"
    assert runtime.resolve_precision("32", "cpu") == "32"
    assert runtime.resolve_precision("bf16-mixed", "cpu") == "bf16-mixed"
    monkeypatch.setattr(runtime, "_cpu_has_bf16", lambda: False)
    assert runtime.resolve_precision("auto", "cpu") == "32"
    monkeypatch.setattr(runtime, "_cpu_has_bf16", lambda: True)
    assert runtime.resolve_precision("auto", "cpu") == "bf16-mixed"


def test_default_recipe_uses_auto_precision():
    from rnalabel.engine.recipe import load_recipe

    assert load_recipe("multiresbind").train.precision == "auto"


def test_binary_recipe_file_is_a_config_error(tmp_path):
    p = tmp_path / "garbage.fa"
    p.write_bytes(b"\xff\xfe\x00\x9c\x80 not text")
    with pytest.raises(ConfigError, match="not a YAML text file"):
        load_recipe(p)


def test_with_settings_changes_one_field_each():
    r = load_recipe("mmlmirlocnet_neighbours").with_settings(
        ["views.nb.precursors=../hairpin.fa", "params.hidden=256", "train.lr=5e-4", "views.kmer.k=[1, 2]",
         "window=100"])
    assert r.views["nb"] == {"type": "neighbours", "precursors": "../hairpin.fa"}
    assert r.params["hidden"] == 256 and r.train.lr == 5e-4 and r.views["kmer"]["k"] == [1, 2] and r.window == 100
    assert r.name == "mmlmirlocnet_neighbours" and load_recipe("mmlmirlocnet_neighbours").params["hidden"] == 128
    for bad, why in (("views.nb.k", "not KEY=VALUE"), ("views.xx.k=2", "has no view 'xx'.*kmer, w2v, nb"),
                     ("window.x=1", "window is not a section"), ("train.nope=1", "unknown key"),
                     ("params.dilations=[2, 4", "not valid YAML"), ("=3", "not KEY=VALUE"),
                     ("train=3", "train must be a mapping"), ("params=3", "params must be a mapping"),
                     ("model=[1]", "model must be a name"), ("name=", "name must be a name"),
                     ("description=[1]", "description must be text")):
        with pytest.raises(ConfigError, match=why):
            load_recipe("mmlmirlocnet_neighbours").with_settings([bad])


def test_a_view_type_that_is_not_a_name_is_refused():
    from rnalabel.views import build_view

    with pytest.raises(ConfigError, match="view's type must be a name"):
        build_view({"type": [1]})


def test_resume_fingerprint_reads_the_files_views_name(tmp_path):
    from rnalabel.data import Dataset
    from rnalabel.engine.checkpoints import _fingerprint

    fa = tmp_path / "h.fa"
    fa.write_text(">a\nACGU\n")
    rec = load_recipe("mmlmirlocnet_neighbours").with_settings([f"views.nb.precursors={fa}"])
    ds = Dataset.from_sequences(["x"], ["ACGU"]).with_split(np.array(["train"], dtype=object))
    before = _fingerprint(rec, ds, 1, None)
    fa.write_text(">a\nUUUU\n")  # same path, other contents: a resumed training must not accept it
    assert _fingerprint(rec, ds, 1, None) != before
