"""Models: plain ``nn.Module`` classes taking a dict of view tensors and returning (N, K) logits.

Importing this package registers the built-in models in :data:`rnalabel.models.base.MODELS`.
"""

from rnalabel.models import baselines, mmfa, multiresbind  # noqa: F401  (registration)
from rnalabel.models.base import MODELS, InputSpec, build_model, config_to_dict, model_class, register_model
from rnalabel.models.baselines import DeepBind, DeepRiPe
from rnalabel.models.mmfa import MMFA, ViewCNN
from rnalabel.models.multiresbind import MultiResBind

__all__ = [
    "MODELS",
    "InputSpec",
    "build_model",
    "config_to_dict",
    "model_class",
    "register_model",
    "DeepBind",
    "DeepRiPe",
    "MMFA",
    "MultiResBind",
    "ViewCNN",
]
