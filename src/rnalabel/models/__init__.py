"""Models: plain ``nn.Module`` classes taking a dict of view tensors and returning (N, K) logits.

One module per architecture (:mod:`~rnalabel.models.multiresbind`, :mod:`~rnalabel.models.deepripe`,
:mod:`~rnalabel.models.deepbind`, :mod:`~rnalabel.models.deepmirbp`, :mod:`~rnalabel.models.mmfa`,
:mod:`~rnalabel.models.mmlmirlocnet`; :mod:`~rnalabel.models.ensemble` averages trained models), the layers they share in
:mod:`~rnalabel.models.layers`, and the registry that builds a model from its name and hyper-parameters in
:mod:`~rnalabel.models.registry`. Importing this package registers the built-in models in
:data:`rnalabel.models.registry.MODELS`.
"""

from rnalabel.models import deepbind, deepmirbp, deepripe, ensemble, mmfa, mmlmirlocnet, multiresbind  # noqa: F401  (registration)
from rnalabel.models.deepbind import DeepBind
from rnalabel.models.deepmirbp import DeepMiRBP
from rnalabel.models.deepripe import DeepRiPe
from rnalabel.models.ensemble import Ensemble
from rnalabel.models.mmfa import MMFA, ViewCNN
from rnalabel.models.mmlmirlocnet import MMLmiRLocNet
from rnalabel.models.multiresbind import MultiResBind
from rnalabel.models.registry import (
    MODELS,
    InputSpec,
    build_model,
    config_to_dict,
    model_class,
    register_model,
)

__all__ = [
    "MODELS",
    "InputSpec",
    "build_model",
    "config_to_dict",
    "model_class",
    "register_model",
    "DeepBind",
    "DeepMiRBP",
    "DeepRiPe",
    "Ensemble",
    "MMFA",
    "MMLmiRLocNet",
    "MultiResBind",
    "ViewCNN",
]
