"""The `preflight` command. Exit status like ruff: 0 clean, 1 findings or failed files, 2 usage/config/internal."""

from __future__ import annotations

import click

from preflight.cli.probe import probe_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="preflight")
def main() -> None:
    """Check images before they are uploaded to image-processing services, fix them, and submit them."""


main.add_command(probe_command)
