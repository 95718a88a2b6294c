"""Judging: the rule engine that turns facts into verdicts, with the rules in ``checks/``."""
