"""`syncwizard config init --preset systemd|zip|compose|helm`: a profile with the names of
a deployment Alfresco publishes (unit, service, Deployment, health URL, topic, broker CLI
and tunnel), and the recover start done right for it: where -Drecover is put, the restart
that applies it, and the restart that removes it.

None of these commands can run on the machine the tests run on (no systemd, docker or
kubectl there): tests/unit/test_presets.py checks what they render, argument by argument.
"""

from __future__ import annotations

from collections.abc import Callable

from syncwizard.errors import SyncWizardError
from syncwizard.presets import compose, helm, systemd, zip
from syncwizard.presets.model import Preset, render
from syncwizard.presets.options import PresetOptions, check_applicable, check_profile_name

BUILDERS: dict[str, Callable[[PresetOptions], Preset]] = {
    "systemd": systemd.preset,
    "zip": zip.preset,
    "compose": compose.preset,
    "helm": helm.preset,
}
NAMES = tuple(BUILDERS)

__all__ = ["NAMES", "Preset", "PresetOptions", "build", "render_preset"]


def build(name: str, options: PresetOptions | None = None) -> Preset:
    """The preset `name` with `options`; a clear error for an unknown name or a bad option."""
    if name not in BUILDERS:
        raise SyncWizardError(
            f"there is no preset {name!r}",
            hint=f"choose one of: {', '.join(NAMES)}",
            system="config",
        )
    options = options or PresetOptions()
    check_applicable(name, options)
    return BUILDERS[name](options)


def render_preset(name: str, profile: str, options: PresetOptions | None = None) -> str:
    """The config file text of the preset `name`, its profile named `profile`."""
    return render(build(name, options), check_profile_name(profile))
