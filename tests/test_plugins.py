"""A view and a model from another module: registered through RNALABEL_PLUGINS, usable from the CLI of a fresh
process (the newcomer's path: write a view and a model, train, save, predict)."""

import os
import subprocess
import sys
import textwrap

import numpy as np

PLUGIN = textwrap.dedent('''
    from dataclasses import dataclass

    import numpy as np
    import torch
    from torch import nn

    from rnalabel.models.registry import InputSpec, register_model
    from rnalabel.views.base import View, register_view


    @register_view
    @dataclass(frozen=True)
    class GC(View):
        """GC content of each sequence, (N, 1)."""

        type = "gc_test"
        kind = "sequence"

        def channels(self, dataset=None):
            return 1

        def transform(self, dataset):
            real = np.arange(dataset.width)[None, :] < dataset.lengths[:, None]
            gc = ((dataset.tokens == 1) | (dataset.tokens == 2)) & real
            return (gc.sum(axis=1) / np.maximum(dataset.lengths, 1))[:, None].astype(np.float32)


    @register_model("gc_mlp_test", kinds=("whole-sequence",))
    class GCMLP(nn.Module):
        def __init__(self, *, inputs: tuple[InputSpec, ...], n_labels: int, hidden: int = 4) -> None:
            super().__init__()
            self.name = inputs[0].name
            self.net = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, n_labels))

        def forward(self, x):
            return self.net(x[self.name])
''')


def test_plugin_views_and_models_load_in_a_fresh_process(tmp_path, demo_small, monkeypatch):
    (tmp_path / "rl_plugin_test.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    import rl_plugin_test  # noqa: F401  (registers gc_test and gc_mlp_test here)

    from rnalabel import fit, save_model
    from rnalabel.engine.recipe import Recipe, TrainConfig

    rec = Recipe(name="gc", model="gc_mlp_test", views={"gc": {"type": "gc_test"}},
                 train=TrainConfig(batch_size=64, max_epochs=1, seed=0))
    model, _ = fit(rec, demo_small, progress=False, device="cpu")
    assert model.kind == "whole-sequence" and model.window is None
    save_model(model, tmp_path / "run")
    fa = tmp_path / "in.fa"
    fa.write_text(f">a\n{demo_small.sequences[0]}\n>b\nGGGCCC\n")
    cli = [sys.executable, "-m", "rnalabel", "predict", str(tmp_path / "run"), str(fa), "--out", str(tmp_path / "p.tsv")]
    env = {k: v for k, v in os.environ.items() if k != "RNALABEL_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    r = subprocess.run(cli, env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "unknown" in r.stderr and "RNALABEL_PLUGINS" in " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr
    r = subprocess.run(cli, env={**env, "RNALABEL_PLUGINS": "rl_plugin_test"}, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = (tmp_path / "p.tsv").read_text().splitlines()
    assert len(rows) == 3 and rows[2].startswith("b\t")
    assert np.isfinite([float(x) for x in rows[2].split("\t")[1:6]]).all()
