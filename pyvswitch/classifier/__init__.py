"""Tuple-space search classifier: rules with priorities, lookup with un-wildcarding.

Layer: classifier.  Imports: flow.
"""

from pyvswitch.classifier.classifier import (
    DEFAULT_PREFIX_SLOTS,
    PREFIX_SLOT_PREREQ,
    Classifier,
    RuleLike,
)

__all__ = ["Classifier", "RuleLike", "DEFAULT_PREFIX_SLOTS", "PREFIX_SLOT_PREREQ"]
