"""`python -m preflight ...`: the same as the `preflight` command."""

from preflight.cli import main

main()
