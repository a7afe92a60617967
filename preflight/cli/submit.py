"""`preflight submit`: validate, fix, hash and upload images to a provider, resumably.

Exit status: 0 every file sent or already submitted (or, with --dry-run, would be sent); 1 any file refused or
failed, including an authentication failure; 2 bad options, missing credentials or configuration; 130 Ctrl-C.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from typing import Any, NoReturn

import click
import stamina.instrumentation

from preflight.cli._options import cache_options, open_ledger
from preflight.errors import AuthError, ConfigError, PreflightError, SubmitError
from preflight.ledger import Ledger
from preflight.providers import PROVIDERS, ClientOptions, RetryPolicy
from preflight.providers import credentials as _credentials
from preflight.providers._http import redact_text
from preflight.submit import ALREADY, DEFAULT_JOBS, PLANNED, SIDES, SubmitOptions, SubmitOutcome, submit

log = logging.getLogger("preflight.submit")

# What to set when a provider refuses the credentials (see preflight.providers.credentials).
CREDENTIAL_HINTS = {
    "haut": "PREFLIGHT_HAUT_TOKEN (and PREFLIGHT_HAUT_COMPANY_ID)",
    "autoretouch": "PREFLIGHT_AUTORETOUCH_TOKEN (and PREFLIGHT_AUTORETOUCH_ORGANIZATION)",
    "dsio": "PREFLIGHT_DSIO_USER and PREFLIGHT_DSIO_API_KEY",
    "coactive": "PREFLIGHT_COACTIVE_TOKEN, or PREFLIGHT_COACTIVE_CLIENT_ID and PREFLIGHT_COACTIVE_CLIENT_SECRET",
}


@click.command("submit")
@click.argument("paths", nargs=-1, required=True)
@click.option("--provider", required=True, type=click.Choice(PROVIDERS), help="Where to send the images.")
@click.option("--base-url", metavar="URL", help="The provider's API root (e.g. a local emulator's URL).")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=DEFAULT_JOBS,
    show_default=True,
    metavar="N",
    help="Files in flight at once (requests too).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--dry-run", is_flag=True, help="Validate, fix and hash; show what would be sent; send nothing."
)
@click.option("--force", is_flag=True, help="Send even what the ledger says was submitted before.")
@cache_options
@click.option("--deep", is_flag=True, help="Also decode each file to prove it intact before sending it.")
@click.option(
    "--no-fix", is_flag=True, help="Send originals as they are (fixable errors then refuse the file)."
)
@click.option(
    "--profile",
    "-p",
    "profile_name",
    metavar="NAME|FILE",
    help="Validate with this profile instead of the provider's.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 50),
    default=5,
    show_default=True,
    help="Retries per request on 429, 5xx and connection errors.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds to wait for each answer.",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not log retries.")
@click.option("--verbose", "-v", is_flag=True, help="Log each request.")
@click.option("--subject-id", metavar="ID", help="haut: the subject the images belong to.")
@click.option(
    "--subject-name", metavar="NAME", help="haut: create a subject (in --dataset-id) and submit to it."
)
@click.option(
    "--side",
    "sides",
    multiple=True,
    type=click.Choice(list(SIDES)),
    help="haut: the side shown; once for all files, or once per file in order [default: front].",
)
@click.option(
    "--one-batch",
    is_flag=True,
    help="haut: the files (up to 3) are sides of one session: one batch, computed once "
    "(sides default to front, right, left in order).",
)
@click.option(
    "--dataset-id", metavar="ID", help="coactive: the dataset; haut: where --subject-name is created."
)
@click.option(
    "--image-info",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="dsio: imageInfo JSON for every image [default: each image's sidecar IMAGE.json].",
)
@click.option(
    "--source-prefix",
    metavar="LOCAL=REMOTE",
    help="coactive: where Coactive reads the local files, e.g. /data/shots=s3://bucket/shots.",
)
@click.option("--no-wait", is_flag=True, help="coactive: register the paths without following the jobs.")
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="coactive: seconds between job status reads.",
)
def submit_command(
    paths: tuple[str, ...],
    provider: str,
    base_url: str | None,
    jobs: int,
    output_format: str,
    dry_run: bool,
    force: bool,
    cache_path: str | None,
    no_cache: bool,
    deep: bool,
    no_fix: bool,
    profile_name: str | None,
    retries: int,
    timeout: float,
    quiet: bool,
    verbose: bool,
    subject_id: str | None,
    subject_name: str | None,
    sides: tuple[str, ...],
    one_batch: bool,
    dataset_id: str | None,
    image_info: str | None,
    source_prefix: str | None,
    no_wait: bool,
    poll_interval: float,
) -> None:
    """Validate images with the provider's profile, fix what is fixable (into a temporary folder; originals
    are never touched), hash them and upload them, several at once.

    Each upload's receipt is recorded in the ledger as soon as it completes: run the same command again after
    a crash or Ctrl-C and what was done is skipped ("already submitted"); --force sends it again.
    Credentials come from environment variables (PREFLIGHT_AUTORETOUCH_TOKEN, ...) or the credentials file,
    never from the command line.

    Exit status: 0 all sent or already submitted, 1 any file refused or failed, 2 bad options or missing
    credentials.
    """
    ledger: Ledger | None = open_ledger(cache_path, no_cache)
    configure_logging(quiet=quiet, verbose=verbose)
    if no_cache:
        ledger = None  # nothing skipped, nothing remembered
    options = SubmitOptions(
        subject_id=subject_id,
        subject_name=subject_name,
        sides=sides,
        one_batch=one_batch,
        dataset_id=dataset_id,
        image_info=image_info,
        source_prefix=source_prefix,
        wait=not no_wait,
        poll_interval=poll_interval,
    )
    connection = ClientOptions(
        read_timeout=timeout, write_timeout=timeout, retry=RetryPolicy(attempts=retries + 1)
    )
    outcomes: list[SubmitOutcome] = []
    try:
        results = submit(
            paths,
            provider=provider,
            base_url=base_url,
            options=options,
            jobs=jobs,
            ledger=ledger,
            force=force,
            dry_run=dry_run,
            fix_files=not no_fix,
            deep=deep,
            profile=profile_name,
            client_options=connection,
            progress=True,
        )
        for outcome in results:
            outcomes.append(outcome)
            if output_format == "text":
                click.echo(describe(outcome))
    except ConfigError as exc:
        _fail(str(exc), 2)
    except AuthError as exc:  # before any file: creating the Haut subject
        _fail(f"{exc}\n{_auth_hint(provider)}", 1)
    except SubmitError as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        _emit(outcomes, provider, output_format, dry_run)
        click.echo(
            f"interrupted after {len(outcomes)} files; what completed is in the ledger: "
            "run the same command again to send the rest",
            err=True,
        )
        sys.exit(130)
    except PreflightError as exc:
        _fail(str(exc), 1)
    except Exception as exc:  # the one broad except: anything unexpected is exit 2 with one clear line
        _fail(f"internal error: {type(exc).__name__}: {redact_text(str(exc))}", 2)
    finally:
        if ledger is not None:
            ledger.close()
    _emit(outcomes, provider, output_format, dry_run)
    if any(o.error_code == "auth" for o in outcomes):
        click.echo(_auth_hint(provider), err=True)
    sys.exit(0 if all(o.ok for o in outcomes) else 1)


def describe(outcome: SubmitOutcome) -> str:
    """The text lines for one outcome."""
    facts = []
    if outcome.content_hash:
        facts.append(f"sha256={outcome.content_hash}")
    if outcome.receipt is not None:
        ids = outcome.receipt.remote_ids.items()
        facts += [f"{k}={v}" for k, v in ids if v != outcome.content_hash]  # AutoRetouch's id is the hash
    if outcome.error:  # the reason on the first line, the facts below it
        lines = [f"{outcome.path}: {outcome.status}: {outcome.error} [{outcome.error_code}]"]
        lines += [f"  {' '.join(facts)}"] if facts else []
    else:
        lines = [" ".join([f"{outcome.path}: {outcome.status}", *facts])]
    if outcome.fixed:
        lines.append(f"  fixed: {'; '.join(outcome.fixed)}")
    if outcome.ok and outcome.status != ALREADY:
        lines += [f"  {f.severity}: {f.code} {f.message}" for f in outcome.findings]
    if outcome.note:
        lines.append(f"  note: {outcome.note}")
    return "\n".join(lines)


def summary(outcomes: list[SubmitOutcome]) -> dict[str, int]:
    counts = Counter(o.status for o in outcomes)
    return dict(sorted(counts.items()))


def _emit(outcomes: list[SubmitOutcome], provider: str, output_format: str, dry_run: bool) -> None:
    counts = summary(outcomes)
    if output_format == "json":
        data: dict[str, Any] = {
            "provider": provider,
            "dry_run": dry_run,
            "files": [o.to_dict() for o in outcomes],
            "summary": {"files": len(outcomes), "ok": sum(o.ok for o in outcomes), "statuses": counts},
        }
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    words = ", ".join(f"{n} {status}" for status, n in counts.items()) or "nothing to do"
    click.echo(f"{len(outcomes)} files: {words}")
    if dry_run and counts.get(PLANNED):
        click.echo("dry run: nothing was sent")
    elif counts.get(ALREADY):
        click.echo("already submitted files were skipped (--force sends them again)")


def _auth_hint(provider: str) -> str:
    return (
        f"{provider} refused the credentials: check {CREDENTIAL_HINTS[provider]} "
        f"(or the [{provider}] section of {_credentials.default_path()})"
    )


def _fail(message: str, status: int) -> NoReturn:
    click.echo(f"preflight: error: {message}", err=True)
    sys.exit(status)


# -- logging -------------------------------------------------------------------------------------------------


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (a progress bar or a test runner may replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never break the run
            self.handleError(record)


class _Redact(logging.Filter):
    """Last line of defence: every record we print has URLs redacted (signatures, token parameters)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        return True


_HANDLER = _StderrHandler()
_HANDLER.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
_HANDLER.addFilter(_Redact())


def _log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    """stamina's hook: one short line per retry, from the error's own (already scrubbed) message."""
    cause = details.caused_by
    text = str(cause) if isinstance(cause, PreflightError) else type(cause).__name__
    log.warning("retry %d in %.1f s after: %s", details.retry_num, details.wait_for, text)


def configure_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    """Concise, redacted logging on stderr: retries at WARNING (not with --quiet), requests with --verbose."""
    root = logging.getLogger("preflight")
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)
    root.propagate = False
    root.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    stamina.instrumentation.set_on_retry_hooks([_log_retry])
