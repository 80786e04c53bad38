"""What a diagnosis advises: the remedies for each verdict, and the facts about the model
that change the advice (a model that already has Dropout is told to raise its rate,
not to add it). The remedies follow the notebooks' prose (TensorFlow's overfit-and-underfit
notebook, Deep Learning with Python 3.6) plus two for divergence, which the notebooks do not
cover. Pure Python: the API imports it."""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from models.diagnosis_types import ModelFacts, Remedy, Verdict

_REGULARIZERS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer",
                 "recurrent_regularizer")  # fmt: skip


def chance_loss(loss: object, layers: Sequence[Mapping[str, Any]]) -> float | None:
    """Crossentropy of guessing uniformly: ln 2 for binary, ln(classes) for categorical, where
    the classes are the last Dense layer's units. None for losses without such a level."""
    if loss == "binary_crossentropy":
        return math.log(2)
    last = layers[-1] if layers else {}
    units = last.get("units")
    if loss in ("categorical_crossentropy", "sparse_categorical_crossentropy") and (
        last.get("type") == "Dense" and isinstance(units, int) and units >= 2
    ):
        return math.log(units)
    return None


def facts_from_spec(spec: Mapping[str, Any]) -> ModelFacts:
    """Facts from a stored spec (its JSON form). Read defensively: specs stored before a field
    existed simply lack it. `fit.early_stopping` counts when present and not null."""
    layers = [layer for layer in spec.get("model", {}).get("layers", []) if isinstance(layer, dict)]
    return ModelFacts(
        layer_types=frozenset(str(layer.get("type")) for layer in layers),
        recurrent_dropout=any(
            (layer.get("dropout") or 0) > 0 or (layer.get("recurrent_dropout") or 0) > 0
            for layer in layers
        ),
        weight_penalty=any(layer.get(name) for layer in layers for name in _REGULARIZERS),
        early_stopping=bool(spec.get("fit", {}).get("early_stopping")),
        chance_loss=chance_loss(spec.get("compile", {}).get("loss"), layers),
    )


# One sentence per remedy code. Overfitting and underfitting follow the notebooks' prose.
TEXTS = {
    "early_stopping": "Stop at the best epoch ({best}): keep that epoch's weights, or stop "
    "when val_loss has not improved for a few epochs (early stopping).",
    "more_data": "Train on more data: a model trained on more data generalizes better; when "
    "more data can be had it is the best remedy.",
    "reduce_capacity": "Reduce capacity: fewer layers or fewer units per layer leave less room "
    "to memorize the training set (the smaller IMDB model overfits later and more slowly).",
    "weight_regularization": "Add L2 (or L1) weight regularization to the kernels, e.g. "
    '"kernel_regularizer": {{"l2": 0.001}}: small weights make a simpler model.',
    "stronger_weight_regularization": "The model already has weight penalties: raise their "
    "factors (e.g. l2 0.001 -> 0.002).",
    "dropout": "Add Dropout layers (rate 0.2 to 0.5) after the hidden layers: zeroing random "
    "features while training is one of the most effective regularizers.",
    "stronger_dropout": "The model already has dropout: raise its rate (up to about 0.5) or "
    "add it after more layers.",
    "more_capacity": "Add capacity: more units per layer or more layers, so the model can fit "
    "its training data.",
    "more_epochs": "Train for more epochs (raise fit.epochs): {why}.",
    "keep_training": "The run has epochs to go: read the diagnosis again when it has finished.",
    "less_regularization": "Lower the regularization (smaller Dropout rates or weight "
    "penalties): a model that is too regularized cannot fit.",
    "higher_learning_rate": "Raise the learning rate (compile.optimizer.learning_rate): the "
    "loss may get there in fewer epochs (watch for divergence).",
    "lower_learning_rate": "Lower the learning rate (e.g. by 10 times): the updates overshot "
    "and the loss blew up.",
    "scale_inputs": "Scale the inputs (to 0..1, or zero mean and unit variance) and check "
    "them for NaN values.",
    "validation_data": "Hold out validation data (e.g. fit.validation_split 0.2): without it "
    "overfitting cannot be seen.",
}
WHY_MORE_EPOCHS = {
    Verdict.UNDERFITTING: "the network may not have learned the relevant patterns yet",
    Verdict.STILL_IMPROVING: "both losses were still falling steeply",
    Verdict.INSUFFICIENT_DATA: "too few epochs to judge",
}


def _codes(verdict: Verdict, facts: ModelFacts, more_epochs_coming: bool) -> list[str]:
    """Remedy codes for a verdict, most direct first; what the model has already changes
    "add" into "strengthen" (or, for underfitting, "weaken")."""
    epochs = "keep_training" if more_epochs_coming else "more_epochs"
    if verdict is Verdict.OVERFITTING:
        return [
            *([] if facts.early_stopping else ["early_stopping"]),
            "more_data",
            "reduce_capacity",
            "stronger_weight_regularization" if facts.weight_penalty else "weight_regularization",
            "stronger_dropout" if facts.dropout else "dropout",
        ]
    if verdict is Verdict.UNDERFITTING:
        weaker = ["less_regularization"] if facts.dropout or facts.weight_penalty else []
        return ["more_capacity", epochs, *weaker, "higher_learning_rate"]
    if verdict is Verdict.STILL_IMPROVING:
        return [epochs, "higher_learning_rate"]
    if verdict is Verdict.DIVERGED:
        return ["lower_learning_rate", "scale_inputs"]
    if verdict is Verdict.INSUFFICIENT_DATA:
        return [] if more_epochs_coming else ["more_epochs"]
    return []


def advise(
    verdict: Verdict,
    facts: ModelFacts,
    *,
    best_epoch: int | None,
    more_epochs_coming: bool,
    has_validation: bool,
) -> list[Remedy]:
    """The remedies for a verdict, each a code and a sentence. Without validation data every
    verdict that judged the curves also asks for some."""
    codes = _codes(verdict, facts, more_epochs_coming)
    judged = verdict not in (Verdict.DIVERGED, Verdict.INSUFFICIENT_DATA)
    if judged and not has_validation:
        codes.append("validation_data")
    why = WHY_MORE_EPOCHS.get(verdict, "")
    return [Remedy(code, TEXTS[code].format(best=best_epoch, why=why)) for code in codes]
