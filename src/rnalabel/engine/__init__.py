"""The engine: recipes, losses, training (Lightning), metrics and thresholds, trained models and their files,
prediction and evaluation.

Modules: :mod:`~rnalabel.engine.recipe` (YAML recipes -> frozen dataclasses), :mod:`~rnalabel.engine.kinds`
(windowed, whole-sequence, embedding), :mod:`~rnalabel.engine.inputs` (units, featurisation, input specs),
:mod:`~rnalabel.engine.losses`, :mod:`~rnalabel.engine.training` (``fit``), :mod:`~rnalabel.engine.metrics`,
:mod:`~rnalabel.engine.bundle` (a trained model and its files: ``save_model``, ``load_model``),
:mod:`~rnalabel.engine.forward` (the one batched forward), :mod:`~rnalabel.engine.predict`,
:mod:`~rnalabel.engine.evaluate`.
"""
