"""Work that rides along with every dispatcher pass of `manage.py dispatch_activities`: a small registry.

dispatch never imports the apps above it; an app that wants its own due work done on the same loop (webhook
delivery) registers a step in its `AppConfig.ready()`. A step takes no arguments and returns a short summary
string (or None when it did nothing).
"""
from collections.abc import Callable

pass_steps: list[Callable[[], object]] = []


def register_pass_step(step: Callable[[], object]) -> None:
    if step not in pass_steps:
        pass_steps.append(step)


def run_pass_steps() -> list:
    """Run every registered step once; their summaries, in order, leaving out those that did nothing."""
    return [summary for summary in (step() for step in pass_steps) if summary]
