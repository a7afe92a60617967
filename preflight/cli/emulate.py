"""`preflight emulate`: run a provider's local emulator so a submission can be tried offline."""

from __future__ import annotations

import sys

import click

from preflight.emulators import PROVIDERS, EmulatorCredentials, Faults, serve

# The environment variables `preflight submit` reads, per credential field (see preflight.providers.credentials).
_ENV = {
    ("haut", "token"): "PREFLIGHT_HAUT_TOKEN",
    ("haut", "company_id"): "PREFLIGHT_HAUT_COMPANY_ID",
    ("haut", "dataset_id"): "PREFLIGHT_HAUT_DATASET_ID",
    ("autoretouch", "token"): "PREFLIGHT_AUTORETOUCH_TOKEN",
    ("autoretouch", "organization"): "PREFLIGHT_AUTORETOUCH_ORGANIZATION",
    ("dsio", "username"): "PREFLIGHT_DSIO_USER",
    ("dsio", "api_key"): "PREFLIGHT_DSIO_API_KEY",
    ("coactive", "token"): "PREFLIGHT_COACTIVE_TOKEN",
    ("coactive", "client_id"): "PREFLIGHT_COACTIVE_CLIENT_ID",
    ("coactive", "client_secret"): "PREFLIGHT_COACTIVE_CLIENT_SECRET",
}


def _rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter(f"must be a fraction between 0 and 1, not {value}")
    return value


@click.command("emulate")
@click.argument("provider", metavar="NAME", type=click.Choice(PROVIDERS))
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--error-rate", type=float, default=0.0, callback=_rate, help="Fraction answered 500/502/503.")
@click.option("--throttle-rate", type=float, default=0.0, callback=_rate, help="Fraction answered 429.")
@click.option(
    "--retry-after", type=click.IntRange(0), default=1, show_default=True, help="Seconds, with 429."
)
@click.option("--drop-rate", type=float, default=0.0, callback=_rate, help="Fraction of connections dropped.")
@click.option("--delay", type=click.FloatRange(0), default=0.0, help="Seconds to wait before every answer.")
@click.option(
    "--fault-phase",
    type=click.Choice(["before", "after", "mixed"]),
    default="before",
    show_default=True,
    help="Errors and drops before processing, or after it (the upload is stored but the answer is lost).",
)
@click.option("--seed", type=int, default=None, help="Seed for reproducible faults.")
def emulate_command(
    provider: str,
    port: int,
    host: str,
    error_rate: float,
    throttle_rate: float,
    retry_after: int,
    drop_rate: float,
    delay: float,
    fault_phase: str,
    seed: int | None,
) -> None:
    """Serve a local emulator of a provider's documented API (haut, autoretouch, dsio, coactive)."""
    try:
        faults = Faults(
            error_rate=error_rate,
            throttle_rate=throttle_rate,
            drop_rate=drop_rate,
            delay=delay,
            retry_after=retry_after,
            fault_phase=fault_phase,  # type: ignore[arg-type]
            seed=seed,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    def announce(base_url: str, credentials: EmulatorCredentials) -> None:
        click.echo(f"{provider} emulator on {base_url}  (Ctrl-C stops it)")
        click.echo("Fake test credentials it accepts:")
        for name, value in credentials.as_dict().items():
            env = _ENV.get((provider, name))
            click.echo(f"  export {env}={value}" if env else f"  {name}: {value}")
        click.echo(f"Then: preflight submit IMAGES... --provider {provider} --base-url {base_url}")
        if faults.active:
            click.echo(f"Injecting faults: {faults}")

    try:
        serve(provider, host, port, faults, announce=announce)
    except OSError as exc:
        click.echo(f"preflight: error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        pass
