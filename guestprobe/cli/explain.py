"""``guestprobe explain [FEATURE|CODE]``: a rule, or a reason code, in words."""


import click

from guestprobe.check.explain import explain_code, explain_rule
from guestprobe.check.rules import load_rules
from guestprobe.check.rules import rules_dir as chosen_rules_dir
from guestprobe.cli.common import write_out


@click.command()
@click.argument("feature", metavar="[FEATURE|CODE]", required=False)
@click.option(
    "--rules-dir",
    type=click.Path(file_okay=False),
    help="Read the rules from this directory (default: $GUESTPROBE_RULES_DIR, else built in).",
)
def explain(feature: "str | None", rules_dir: "str | None") -> None:
    """Print the rule for FEATURE, or where a reason CODE of a report comes from, in words;
    without either, list the features."""
    rules = load_rules(rules_dir)
    if feature is None:
        lines = [f"Rules from {chosen_rules_dir(rules_dir)}:"]
        lines += [f"  {rule.feature:<18} {rule.scope:<5} {rule.title}" for rule in rules]
        write_out("".join(line + "\n" for line in lines))
        return
    for rule in rules:
        if rule.feature == feature:
            write_out(explain_rule(rule))
            return
    explained = explain_code(rules, feature)
    if explained is not None:
        write_out(explained)
        return
    known = ", ".join(r.feature for r in rules)
    raise click.UsageError(f"no feature or reason code {feature!r}; features: {known}")
