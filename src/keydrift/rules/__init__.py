"""Rules of ``keydrift check``: one module per rule id; see :mod:`keydrift.rules.interface`."""

from __future__ import annotations

from keydrift.rules.interface import Finding, Rule, Severity, all_rules, rule_by_id, run_rules

__all__ = ["Finding", "Rule", "Severity", "all_rules", "rule_by_id", "run_rules"]
