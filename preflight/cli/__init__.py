"""The `preflight` command. Exit status like ruff: 0 clean, 1 findings or failed files, 2 usage/config/internal."""

from __future__ import annotations

import click

from preflight.cli.emulate import emulate_command
from preflight.cli.fix import fix_command
from preflight.cli.hash import hash_command
from preflight.cli.probe import probe_command
from preflight.cli.profiles import profiles_command
from preflight.cli.submit import submit_command
from preflight.cli.validate import validate_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="preflight")
def main() -> None:
    """Check images before they are uploaded to image-processing services, fix them, and submit them."""


main.add_command(probe_command)
main.add_command(hash_command)
main.add_command(validate_command)
main.add_command(fix_command)
main.add_command(profiles_command)
main.add_command(emulate_command)
main.add_command(submit_command)
