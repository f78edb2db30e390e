"""Step rules: how a network's weights move given the TD error of one transition. Each rule is one
module, its arithmetic written once on flat arrays for both backends; an agent names its rule
(``step_rule="obgd"``, ``"adaptive"``, ``"intentional"``) and passes the rule's options
(``kappa=...``, ``eta=...``) through.

To add a rule: subclass :class:`~streamrl.steprules.base.StepRule` in a module of its own and
register it in ``STEP_RULES`` below; the agents, the command line (``--set step_rule=NAME``) and
saving pick it up from there.
"""

from streamrl.steprules.adam import Adam
from streamrl.steprules.base import ROLES, PerRole, StepRule, UpdateInfo
from streamrl.steprules.intentional import Intentional
from streamrl.steprules.obgd import AdaptiveObGD, ObGD, obgd_step_size
from streamrl.steprules.qrc import QRC

STEP_RULES: dict[str, type[StepRule]] = {rule.name: rule for rule in (ObGD, AdaptiveObGD, Intentional, QRC, Adam)}


def step_rule_class(name: str) -> type[StepRule]:
    """The step rule registered as ``name``, or a one-line error naming those there are."""
    if name not in STEP_RULES:
        raise ValueError(f"unknown step rule {name!r}; choose one of {', '.join(STEP_RULES)}")
    return STEP_RULES[name]


__all__ = ["STEP_RULES", "ROLES", "PerRole", "StepRule", "UpdateInfo", "ObGD", "AdaptiveObGD", "Intentional",
           "obgd_step_size", "step_rule_class"]
