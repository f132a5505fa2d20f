"""Work that rides along with dispatch's own: small registries the apps above fill in their `AppConfig.ready()`.

dispatch never imports the apps above it. An app that wants its own due work done on the same loop (webhook
delivery) registers a pass step: it takes no arguments and returns a short summary string (or None when it did
nothing). An app that stores secrets with dispatch's key ring (webhook endpoint secrets) registers a secret
rotation, which `manage.py rotate_credentials_key` runs after the configs: it takes no arguments, re-encrypts
everything it holds with the current key and returns (what it calls them, re-encrypted, previously on another
key).
"""
from collections.abc import Callable

pass_steps: list[Callable[[], object]] = []


def register_pass_step(step: Callable[[], object]) -> None:
    if step not in pass_steps:
        pass_steps.append(step)


def run_pass_steps() -> list:
    """Run every registered step once; their summaries, in order, leaving out those that did nothing."""
    return [summary for summary in (step() for step in pass_steps) if summary]


secret_rotations: list[Callable[[], tuple[str, int, int]]] = []


def register_secret_rotation(rotation: Callable[[], tuple[str, int, int]]) -> None:
    if rotation not in secret_rotations:
        secret_rotations.append(rotation)


def run_secret_rotations() -> list[tuple[str, int, int]]:
    return [rotation() for rotation in secret_rotations]
