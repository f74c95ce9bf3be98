"""The engine: recipes, losses, training (Lightning), metrics and thresholds, trained models and their files,
prediction and evaluation.

Modules: :mod:`~rnalabel.engine.recipe` (YAML recipes -> frozen dataclasses), :mod:`~rnalabel.engine.losses`,
:mod:`~rnalabel.engine.training` (:func:`fit`), :mod:`~rnalabel.engine.metrics`, :mod:`~rnalabel.engine.bundle`
(a trained model, :func:`save_model`, :func:`load_model`), :mod:`~rnalabel.engine.predict`,
:mod:`~rnalabel.engine.evaluate`.
"""
