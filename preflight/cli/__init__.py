"""The `preflight` command. Exit status like ruff: 0 clean, 1 findings or failed files, 2 usage/config/internal.

Subcommands are imported when they are used: `preflight hash` must not pay for loading the HTTP stack,
the emulators' web server or libvips.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute", in the order `preflight --help` lists them.
COMMANDS = {
    "validate": "preflight.cli.validate:validate_command",
    "fix": "preflight.cli.fix:fix_command",
    "submit": "preflight.cli.submit:submit_command",
    "probe": "preflight.cli.probe:probe_command",
    "hash": "preflight.cli.hash:hash_command",
    "profiles": "preflight.cli.profiles:profiles_command",
    "emulate": "preflight.cli.emulate:emulate_command",
}


class LazyGroup(click.Group):
    """A click group that imports each subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="preflight")
def main() -> None:
    """Check images before they are uploaded to image-processing services, fix them, and submit them."""
