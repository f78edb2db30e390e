"""The agents' options, as ``streamrl options ALGO``, ``--set``, config and sweep files see them:
their defaults (the constructors' signatures, a class's ``default_options``, its step rule's),
what each means, and the checks that refuse an unknown or mistyped one with a did-you-mean.
:class:`AgentOptions` is a base of every agent (``StreamAgent``), for its classmethods."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, ClassVar, Mapping, NamedTuple

from streamrl.algorithms.techniques import check_switch
from streamrl.steprules import step_rule_class

# What each constructor option of the agents means, in one line, for `streamrl options ALGO`. The
# stream-x techniques' switches are described in algorithms.techniques.TECHNIQUES and a step rule's
# options in its OPTION_HELP; a test checks that every option has one description.
OPTION_HELP = {
    "domain": "the domain whose networks and preprocessing to use: classic, mujoco, dmc, minatar, atari "
              "(None: the env id's)",
    "gamma": "discount factor gamma",
    "lamda": "trace decay lambda (spelt lamda: lambda is a Python keyword)",
    "step_rule": "how the weights move: obgd (stream-x), adaptive or intentional (qrc and adam are QRC's and "
                 "AVG's own); its options are listed apart",
    "alpha": "AVG's entropy coefficient alpha, weighing -log pi in the TD target and the actor's loss",
    "hidden": "hidden layer widths of the MLPs, e.g. [128,128] (None: the domain's)",
    "sparsity": "fraction of each unit's input weights that sparse initialization sets to zero",
    "track_overshoot": "check after each update whether it overshot (the TD error changed sign; one more "
                       "forward pass)",
    "backend": "auto, fused (the compiled Numba kernels) or torch",
    "torch_threads": "threads of the torch backend (None: torch's own choice)",
    "reward_trace_reset": "when reward scaling's discounted return restarts: episode_end or termination "
                          "(None: the pipeline's, episode_end)",
    "bootstrap_truncated": "a time-limit truncation bootstraps on the next state instead of ending the return",
    "epsilon_start": "epsilon of epsilon-greedy exploration at the first step",
    "epsilon_end": "epsilon at the end of its linear schedule, and from then on",
    "exploration_fraction": "part of the first learn()'s steps over which epsilon falls (None: the domain's)",
    "exploration_steps": "steps over which epsilon falls (None: exploration_fraction of the first learn())",
    "entropy_coef": "entropy bonus tau of the actor, with the sign of the TD error",
}
# Constructor options that are Python objects, not values a command line or a config file gives.
NOT_SETTABLE = ("observation_space", "action_space", "network", "preprocessing", "seed", "policy")


class Option(NamedTuple):
    """An agent option as ``streamrl options`` lists it: ``rule`` names the step rule it belongs to
    (None: the agent's own)."""

    name: str
    default: Any
    meaning: str
    rule: str | None


class AgentOptions:
    """The option classmethods of the agents: what a class takes, its defaults and their meaning."""

    algorithm: ClassVar[str]
    roles: ClassVar[tuple[str, ...]] = ("value",)  # the kinds of networks it learns: value, policy
    # Options whose defaults this class changes from its constructors' signatures (Intentional Q:
    # step_rule="intentional", eta=0.25, ...), applied by its __init__ through _with_defaults.
    default_options: ClassVar[Mapping[str, Any]] = MappingProxyType({})
    # The step rules an algorithm can learn with, where not every general one (QRC: its own only).
    step_rules: ClassVar[tuple[str, ...] | None] = None

    @classmethod
    def _rule_options(cls, step_rule: str, given: dict[str, Any]) -> dict[str, Any]:
        """Every option of the step rule, as given or its default, checked to be the rule's."""
        rule = step_rule_class(step_rule)
        if cls.step_rules is not None and step_rule not in cls.step_rules:
            raise ValueError(f"{cls.__name__} learns with the step rule {' or '.join(cls.step_rules)} only, not "
                             f"{step_rule!r}")
        if rule.for_algorithms is not None and cls.algorithm not in rule.for_algorithms:
            owners = ", ".join(rule.for_algorithms)
            raise ValueError(f"step rule {step_rule!r} is {owners.upper()}'s own: train {owners} "
                             f"(streamrl train {owners}), or give {cls.__name__} another step rule")
        known = rule.option_names(cls.roles)
        unknown = sorted(set(given) - set(known))
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], [*known, *cls.option_names()], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{cls.__name__} got an unexpected option {unknown[0]!r} (step rule {step_rule!r} takes "
                            f"{', '.join(known)}){hint}")
        if "overshoot_bound" in given:
            check_switch("overshoot_bound", given["overshoot_bound"])
        return {**rule.defaults(cls.roles), **given}

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        """The constructor's own options and their defaults, this class's ``default_options`` applied
        (a step rule's options come on top: :meth:`all_option_defaults`)."""
        import inspect

        own = {name: p.default for klass in reversed(cls.__mro__) if klass is not object
               for name, p in inspect.signature(klass.__init__).parameters.items() if p.kind is p.KEYWORD_ONLY}
        return {**own, **{k: v for k, v in cls.default_options.items() if k in own}}

    @classmethod
    def option_names(cls) -> list[str]:
        return sorted(cls.option_defaults())

    @classmethod
    def all_option_defaults(cls, step_rule: str | None = None) -> dict[str, Any]:
        """Every option with its default: the constructor's, then those of ``step_rule`` (None: the
        class's default rule), with the class's own defaults for them (Intentional Q's eta 0.25)."""
        own = cls.option_defaults()
        rule = step_rule_class(step_rule or own["step_rule"])
        rule_defaults = cls._rule_options(rule.name, {})  # (and a rule this algorithm may use)
        return {**own, "step_rule": rule.name,
                **{k: cls.default_options.get(k, v) for k, v in rule_defaults.items()}}

    @classmethod
    def _with_defaults(cls, given: dict[str, Any]) -> dict[str, Any]:
        """The options ``given`` over the class's ``default_options``; a default step-rule option
        only where the rule chosen takes it (IntentionalQ(env, step_rule="obgd") has no eta)."""
        options = {**cls.default_options, **given}
        takes = {*cls.option_defaults(), *step_rule_class(options.get("step_rule", "obgd")).option_names(cls.roles)}
        return {k: v for k, v in options.items() if k in given or k in takes}

    @classmethod
    def options(cls, step_rule: str | None = None) -> list[Option]:
        """Every option that ``streamrl train --set`` (and a config or sweep file) can give this agent,
        with its default and meaning: the constructor's, then those of ``step_rule`` (None: the
        class's default rule)."""
        from streamrl.algorithms.techniques import TECHNIQUES

        defaults = cls.all_option_defaults(step_rule)
        rule = step_rule_class(defaults["step_rule"])
        rule_options = rule.option_names(cls.roles)
        listed = []
        for name, default in defaults.items():
            if name in NOT_SETTABLE:
                continue
            meaning = OPTION_HELP.get(name) or TECHNIQUES.get(name) or cls._rule_option_help(rule, name)
            if name in TECHNIQUES and default is None:
                meaning += " (None: as the domain's pipeline does)"
            listed.append(Option(name, default, meaning, rule.name if name in rule_options else None))
        return listed

    @classmethod
    def _rule_option_help(cls, rule: type, name: str) -> str:
        """A step rule's option described by the rule's OPTION_HELP; a per-role one says whose."""
        help_ = getattr(rule, "OPTION_HELP", {})
        if name.endswith("_policy") and name[:-len("_policy")] in help_:
            return f"{help_[name[:-len('_policy')]]}, of the policy (the actor)"
        meaning = help_.get(name, "")
        from streamrl.steprules import PerRole

        if meaning and "policy" in cls.roles and isinstance(rule.OPTIONS.get(name), PerRole):
            meaning += ", of the value network (the critic)"
        return meaning

    @classmethod
    def check_options(cls, options: dict[str, Any], what: str = "--set key") -> None:
        """Options given as text (``--set``, config and sweep files) checked before anything runs:
        each a constructor option or an option of the step rule chosen, of the default's kind. One
        line names the first wrong one, with the closest known name."""
        import difflib

        from streamrl.core.options import check_option_types

        defaults = cls.all_option_defaults(options.get("step_rule"))
        settable = sorted(set(defaults) - set(NOT_SETTABLE))
        for key in options:
            if key not in settable:
                close = difflib.get_close_matches(key, settable, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(f"unknown {what} {key!r} for {cls.__name__}; {hint}known keys: {', '.join(settable)} "
                                 f"(streamrl options {getattr(cls, 'algorithm', 'ALGO')} says what each means)")
        check_option_types(defaults, options)
