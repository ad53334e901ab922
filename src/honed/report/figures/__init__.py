"""Report sections, one module per figure family; each maps evidence to a Section."""

from honed.report.figures import (
    classification,
    compression,
    curves,
    environment,
    export,
    regression,
    study,
    text,
)
from honed.report.figures.base import Section

__all__ = ["Section", "classification", "compression", "curves", "environment", "export",
           "regression", "study", "text"]
