"""The contract of ``keydrift check``: the types every layer shares, and nothing else.

Sources produce :class:`Assignment` and :class:`Service` objects; the pipeline
(:mod:`keydrift.check`) links them into a :class:`Model`; rules read the model and return
:class:`Finding` objects; reports render a :class:`CheckResult`. This package imports no reader,
rule, preset or report.
"""

from __future__ import annotations

from keydrift.model.config import Config, load_config
from keydrift.model.findings import Finding, RuleInfo, Severity
from keydrift.model.names import NameClassifier
from keydrift.model.result import CheckResult, GridCell, Marker, SecretGroup, Suppressed
from keydrift.model.types import (
    Assignment,
    Effective,
    Location,
    Model,
    ReaderView,
    Service,
    Skipped,
    Step,
)

__all__ = [
    "Assignment",
    "CheckResult",
    "Config",
    "Effective",
    "Finding",
    "GridCell",
    "Location",
    "Marker",
    "Model",
    "NameClassifier",
    "ReaderView",
    "RuleInfo",
    "SecretGroup",
    "Service",
    "Severity",
    "Skipped",
    "Step",
    "Suppressed",
    "load_config",
]
