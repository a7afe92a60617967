"""`submit`: validate -> fix -> hash -> upload, per file on the pipeline's thread pool, resumable by the ledger.

>>> from preflight.ledger import Ledger
>>> from preflight.submit import submit
>>> for outcome in submit(["shots/"], provider="autoretouch", ledger=Ledger()):
...     print(outcome.path, outcome.status, outcome.content_hash)

Per file:
1. validate with the provider's profile: error findings that `fix` cannot repair -> "refused", nothing is sent;
2. fix what is fixable into a temporary folder (the original is never touched); the fixed copy is validated
   again and is what gets hashed and sent;
3. SHA-256 of the bytes to send (an unchanged original's digest comes from the ledger's file cache);
4. the ledger: a receipt for (provider, content hash, target) -> "already submitted", unless ``force``;
5. upload with the provider's client; the receipt goes into the ledger the moment the upload completes, so a
   crash, Ctrl-C or SIGKILL loses at most the uploads in flight. A fixed copy's receipt is also filed under
   the original's hash, so a re-run skips the fix as well as the upload.

What each provider guarantees when answers are lost (a 5xx or a reset *after* the server acted, or a kill
between the server acting and the receipt being written):
- autoretouch: exactly once. The client asks ``HEAD /upload?contentHash=`` before every POST.
- coactive: exactly once. Before registering a batch its paths' statuses are read and known paths are not
  registered again; the client does the same before retrying a registration.
- haut: at least once, one object. A retried PUT goes to the same signed URL, which overwrites the same
  storage object with the same bytes (an emulator counting PUTs counts two). A lost answer to the signed-URL
  request leaves an empty image record; in a one-batch submission strays in the batch are deleted before
  ``compute`` (Haut refuses to compute a batch with an image never uploaded). Each image's ``meta`` carries
  ``preflight_sha256`` so records can be traced to their content.
- dsio: at least once. A create has no existence check; an extra resource expires on its own.
In every case the same content is never sent twice to the same target by two runs: the ledger answers first.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from preflight.errors import (
    AuthError,
    ConfigError,
    PreflightError,
    RejectedError,
    SubmitError,
)
from preflight.fix import fix
from preflight.hashing import hash_file
from preflight.ledger import Ledger
from preflight.model import Finding, Profile, Receipt, Severity
from preflight.paths import collect
from preflight.pipeline import run
from preflight.profiles import load_profile
from preflight.providers import PROVIDERS, ClientOptions, get_client
from preflight.providers import credentials as _credentials
from preflight.providers.coactive import MAX_PER_REQUEST, SourcePrefix
from preflight.providers.dsio import load_image_info
from preflight.scan import scan
from preflight.validate import validate_file

# Statuses of an outcome besides the provider's own ("uploaded", "exists", "computed", "registered", ...).
ALREADY = "already submitted"  # the ledger holds a receipt: not sent again
PLANNED = "would send"  # dry run
REFUSED = "refused"  # not sent: validation findings, a failed fix, bad imageInfo, an unreadable file
FAILED = "failed"  # the provider or the network said no
NOT_OK = frozenset({REFUSED, FAILED})

SIDES = {"front": 1, "right": 2, "left": 3}  # Haut's side_id
SIDE_NAMES = {v: k for k, v in SIDES.items()}
DEFAULT_JOBS = 4


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """Provider options of a submission. Each applies to one provider; others are refused (`check`).

    haut: ``subject_id`` (or ``subject_name``: a new subject is created in ``dataset_id`` or the
    credentials' dataset - a new one per run, so only ``subject_id`` makes re-runs skip what was done);
    ``sides``: one side for every file, or one per file in order ("front", "right", "left"); ``one_batch``:
    the files (at most 3) are sides of one session, uploaded into one batch and computed once (sides then
    default to front, right, left in order). Without ``one_batch`` each file is its own batch.
    dsio: ``image_info``: a JSON file for every image (default: each image's sidecar ``<image>.json``).
    coactive: ``dataset_id``; ``source_prefix`` ``LOCAL=REMOTE`` maps local copies to where Coactive reads
    them; ``wait`` follows each ingestion job to its end (``poll_interval`` seconds between reads).
    """

    subject_id: str | None = None
    subject_name: str | None = None
    sides: tuple[str, ...] = ()
    one_batch: bool = False
    dataset_id: str | None = None
    image_info: str | None = None
    source_prefix: str | None = None
    wait: bool = True
    poll_interval: float = 2.0

    def check(self, provider: str, files: int) -> None:
        """Raise ConfigError for an option of another provider or a missing one."""
        given = {
            "subject_id": ("haut", "--subject-id"),
            "subject_name": ("haut", "--subject-name"),
            "sides": ("haut", "--side"),
            "one_batch": ("haut", "--one-batch"),
            "image_info": ("dsio", "--image-info"),
            "source_prefix": ("coactive", "--source-prefix"),
            "dataset_id": ("haut coactive", "--dataset-id"),
        }
        for name, (owners, flag) in given.items():
            if getattr(self, name) and provider not in owners.split():
                raise ConfigError(f"{flag} applies to {' and '.join(owners.split())} only, not {provider}")
        if provider == "haut":
            self._check_haut(files)
        if provider == "coactive":
            if not self.dataset_id:
                raise ConfigError("coactive needs a dataset: --dataset-id ID")
            if not self.source_prefix:
                raise ConfigError(
                    "coactive reads images where they live: give --source-prefix LOCAL=REMOTE "
                    "(e.g. /data/shots=s3://bucket/shots) to map the local copies checked here"
                )
            try:
                SourcePrefix.parse(self.source_prefix)
            except ValueError as exc:
                raise ConfigError(f"--source-prefix: {exc}") from None
        if self.poll_interval < 0:
            raise ConfigError(f"poll interval must not be negative, not {self.poll_interval}")

    def _check_haut(self, files: int) -> None:
        if bool(self.subject_id) == bool(self.subject_name):
            raise ConfigError("haut needs exactly one of --subject-id ID or --subject-name NAME")
        for side in self.sides:
            if side not in SIDES:
                raise ConfigError(f"--side {side!r} is not one of {', '.join(SIDES)}")
        if self.one_batch and files > len(SIDES):
            raise ConfigError(
                f"--one-batch takes at most {len(SIDES)} files (front, right, left), not {files}"
            )
        if len(self.sides) > 1 and len(self.sides) != files:
            raise ConfigError(f"{len(self.sides)} --side values for {files} files: give one, or one per file")
        if self.one_batch and len(set(self.side_ids(files))) != files:
            raise ConfigError("--one-batch needs a different side for each file")

    def side_ids(self, files: int) -> list[int]:
        """Haut's side_id for each file, in order."""
        if len(self.sides) == 1:
            return [SIDES[self.sides[0]]] * files
        if self.sides:
            return [SIDES[s] for s in self.sides]
        return [1, 2, 3][:files] if self.one_batch else [1] * files


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    """What happened to one file. ``receipt`` is the provider's (or the ledger's, when already submitted)."""

    path: str
    status: str  # a receipt status, or ALREADY, PLANNED, REFUSED, FAILED
    content_hash: str | None = None  # SHA-256 of the bytes sent (the fixed copy when fixed)
    receipt: Receipt | None = None
    findings: tuple[Finding, ...] = ()
    fixed: tuple[str, ...] = ()  # the fix steps, when a corrected copy was sent instead of the original
    error: str | None = None
    error_code: str | None = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.status not in NOT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "ok": self.ok,
            "content_hash": self.content_hash,
            "remote_ids": dict(self.receipt.remote_ids) if self.receipt else {},
            "target": self.receipt.target if self.receipt else None,
            "fixed": list(self.fixed),
            "findings": [f.to_dict() for f in self.findings],
            "error": {"code": self.error_code, "message": self.error} if self.error else None,
            "note": self.note,
        }


@dataclass(slots=True)
class _Item:
    """One file on its way: filled by `_prepare`; ``outcome`` is set once nothing more is to be done."""

    index: int
    path: str
    side: int | None = None
    findings: tuple[Finding, ...] = ()
    fixed: tuple[str, ...] = ()
    send_path: str | None = None
    source_hash: str | None = None
    content_hash: str | None = None
    target: str | None = None
    remote: str | None = None  # coactive: where Coactive reads the file
    client_options: dict[str, Any] = field(default_factory=dict)
    existing: Receipt | None = None  # from the ledger
    outcome: SubmitOutcome | None = None
    claims: list[threading.Event] = field(default_factory=list)  # contents this item owns in this run

    def end(self, status: str, **kw: Any) -> SubmitOutcome:
        kw.setdefault("findings", self.findings)
        kw.setdefault("fixed", self.fixed)
        kw.setdefault("content_hash", self.content_hash)
        self.outcome = SubmitOutcome(self.path, status, **kw)
        return self.outcome


def submit(
    paths: Iterable[str | os.PathLike[str]],
    *,
    provider: str,
    base_url: str | None = None,
    options: SubmitOptions | None = None,
    jobs: int = DEFAULT_JOBS,
    ledger: Ledger | None = None,
    force: bool = False,
    dry_run: bool = False,
    fix_files: bool = True,
    deep: bool = False,
    profile: Profile | str | None = None,
    credentials: _credentials.Credentials | None = None,
    client_options: ClientOptions | None = None,
    progress: bool = False,
    expand: bool = True,
    work_dir: str | os.PathLike[str] | None = None,
) -> Iterator[SubmitOutcome]:
    """Submit files (folders are walked unless ``expand=False``) to ``provider``; one outcome per file, in order.

    Checks happen before the first outcome: a bad option, a missing credential or an unknown profile raises
    ConfigError here; Haut's ``subject_name`` is created here (a SubmitError if that fails). ``dry_run``
    validates, fixes and hashes, consults the ledger when credentials are at hand, and sends nothing.
    ``ledger=None`` remembers nothing (no resuming). ``fix_files=False`` sends originals as they are
    (fixable errors then refuse the file). ``deep`` also decodes each file to prove it intact (a truncated
    or corrupt file is refused). Iterate the result to the end or close it: that closes the
    connection and removes the fixed copies.
    """
    session = _Session(
        provider,
        base_url=base_url,
        options=options or SubmitOptions(),
        jobs=jobs,
        ledger=ledger,
        force=force,
        dry_run=dry_run,
        fix_files=fix_files,
        deep=deep,
        profile=profile,
        credentials=credentials,
        client_options=client_options,
        files=collect(paths) if expand else [os.fspath(p) for p in paths],
        work_dir=work_dir,
    )
    return session.outcomes(progress=progress)


class _Session:
    def __init__(
        self,
        provider: str,
        *,
        base_url: str | None,
        options: SubmitOptions,
        jobs: int,
        ledger: Ledger | None,
        force: bool,
        dry_run: bool,
        fix_files: bool,
        deep: bool,
        profile: Profile | str | None,
        credentials: _credentials.Credentials | None,
        client_options: ClientOptions | None,
        files: list[str],
        work_dir: str | os.PathLike[str] | None,
    ):
        if provider not in PROVIDERS:
            raise ConfigError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
        if jobs < 1:
            raise ConfigError(f"jobs must be at least 1, not {jobs}")
        options.check(provider, len(files))
        self.provider = provider
        self.options = options
        self.jobs = jobs
        self.ledger = ledger
        self.force = force
        self.dry_run = dry_run
        self.fix_files = fix_files
        self.deep = deep
        self.files = files
        self.sides = options.side_ids(len(files)) if provider == "haut" else []
        self.profile = profile if isinstance(profile, Profile) else load_profile(profile or provider)
        self.prefix = SourcePrefix.parse(options.source_prefix) if options.source_prefix else None
        self._work_root = os.fspath(work_dir) if work_dir is not None else None
        self._work_dir: str | None = None
        self._lock = threading.Lock()
        self._done: dict[tuple[str, str], Receipt] = {}  # this run's receipts (the ledger may be off)
        self._claims: dict[tuple[str, str], tuple[threading.Event, str]] = {}
        self._auth_failed: AuthError | None = None
        if credentials is None:
            try:
                credentials = _credentials.load(provider)
            except ConfigError:
                if not dry_run:
                    raise
                credentials = None  # a dry run without credentials: validated and hashed, ledger not asked
        self.client: Any = None
        if credentials is not None:
            connection = dataclasses.replace(client_options or ClientOptions(), jobs=jobs)
            extra: dict[str, Any] = {}
            if provider == "coactive":
                extra = {"dataset_id": options.dataset_id, "source_prefix": self.prefix}
            if provider == "haut" and options.dataset_id:
                extra = {"dataset_id": options.dataset_id}
            self.client = get_client(provider, base_url, credentials, options=connection, **extra)
        self.subject_id = options.subject_id
        if provider == "haut" and options.subject_name and not dry_run:
            try:
                self.subject_id = str(self.client.create_subject(options.subject_name)["id"])
            except BaseException:
                self.client.close()
                raise

    # -- the run -------------------------------------------------------------------------------------------

    def outcomes(self, *, progress: bool) -> Iterator[SubmitOutcome]:
        items = [(i, path, self.sides[i] if self.sides else None) for i, path in enumerate(self.files)]
        try:
            if self.provider == "coactive" or (self.provider == "haut" and self.options.one_batch):
                size = MAX_PER_REQUEST if self.provider == "coactive" else len(SIDES)
                prepared = run(
                    items, self._prepare, jobs=self.jobs, progress=progress, description="checking"
                )
                with closing(prepared):
                    groups = run(_chunks(prepared, size), self._send_group, jobs=self.jobs, progress=False)
                    with closing(groups):
                        for group in groups:
                            yield from group
            else:
                results = run(items, self._one, jobs=self.jobs, progress=progress, description=self.provider)
                with closing(results):
                    yield from results
        finally:
            if self.client is not None:
                self.client.close()
            if self._work_dir is not None:
                shutil.rmtree(self._work_dir, ignore_errors=True)

    def _one(self, entry: tuple[int, str, int | None]) -> SubmitOutcome:
        """A file for a per-file provider: prepared and sent in the same worker."""
        item = self._prepare(entry)
        try:
            if item.outcome is None:
                self._send_group([item])
            assert item.outcome is not None
            return item.outcome
        finally:
            for claim in item.claims:
                claim.set()

    # -- validate, fix, hash, ledger -----------------------------------------------------------------------

    def _prepare(self, entry: tuple[int, str, int | None]) -> _Item:
        index, path, side = entry
        item = _Item(index, path, side=side)
        try:
            self._check(item)
        except PreflightError as exc:  # a file that cannot be fixed, hashed or described: nothing sent
            item.end(REFUSED, error=str(exc), error_code=getattr(exc, "code", "error"))
        return item

    def _check(self, item: _Item) -> None:
        report = validate_file(item.path, self.profile, deep=self.deep)
        item.findings = report.findings
        errors = [f for f in report.findings if f.severity is Severity.ERROR]
        fixable = [f for f in report.findings if f.fixable]
        if any(not f.fixable for f in errors):
            item.end(REFUSED, error=_findings_message(errors), error_code="findings")
            return
        can_fix = self.fix_files and self.provider != "coactive"  # Coactive reads the file where it lives
        if errors and not can_fix:
            why = (
                "coactive reads the file where it lives: fix it there (preflight fix)"
                if self.provider == "coactive"
                else "fixing is off"
            )
            item.end(REFUSED, error=f"{_findings_message(errors)} ({why})", error_code="findings")
            return
        if self.provider == "dsio":
            item.client_options["image_info"] = load_image_info(item.path, self.options.image_info)
        if self.provider == "haut":
            item.client_options["name"] = os.path.basename(item.path)
        scanned = scan(item.path, probe=False, algos=("sha256",), ledger=self.ledger)
        if scanned.error is not None:
            raise scanned.error
        item.source_hash = item.content_hash = scanned.digests["sha256"]
        item.send_path = item.path
        if self.prefix is not None:
            item.remote = self.prefix.map(item.path)
        item.target = self._target(item)
        if self._skip_if_known(item, item.source_hash):
            return
        if fixable and can_fix:
            result = fix(item.path, profile=self.profile, out_dir=self._fix_dir(item.index))
            if result.output is not None:
                item.fixed, item.send_path = result.steps, result.output
                again = validate_file(result.output, self.profile)
                item.findings = again.findings
                if not again.ok:
                    problems = [f for f in again.findings if f.severity is Severity.ERROR]
                    item.end(
                        REFUSED, error=f"after fixing: {_findings_message(problems)}", error_code="findings"
                    )
                    return
                item.content_hash = hash_file(result.output)
                if self._skip_if_known(item, item.content_hash):
                    return
        if self.dry_run:
            note = None if item.target is not None else "ledger not consulted (no credentials or subject yet)"
            item.end(PLANNED, note=note)

    def _skip_if_known(self, item: _Item, digest: str) -> bool:
        """End the item as ALREADY when this content reached this target (unless forced); claim it otherwise."""
        if item.target is None:
            return False
        key = (digest, item.target)
        if (
            self.provider != "coactive"
            and not self.dry_run
            and not (self.provider == "haut" and self.options.one_batch)
        ):
            self._wait_for_owner(item, key)
        receipt = self._done.get(key)
        note = None
        if receipt is not None:
            note = "same content as another file of this run"
        elif not self.force and self.ledger is not None:
            found = self.ledger.find_receipt(self.provider, digest, item.target)
            receipt = _receipt(found) if found is not None else None
        if receipt is None:
            return False
        item.existing = receipt
        if self.provider == "haut" and receipt.status == "uploaded":
            return False  # uploaded, never computed: the send step computes its batch
        item.content_hash = receipt.content_hash
        item.end(ALREADY, receipt=receipt, note=note)
        return True

    def _wait_for_owner(self, item: _Item, key: tuple[str, str]) -> None:
        """The same content twice in one run: the second waits for the first, then finds its receipt.

        No deadlock: the owner claimed the key while already running, and an owner never waits for another.
        """
        with self._lock:
            claim = self._claims.get(key)
            if claim is None:
                event = threading.Event()
                item.claims.append(event)
                self._claims[key] = (event, item.path)
                return
        claim[0].wait()

    def _target(self, item: _Item) -> str | None:
        """The ledger's target for this file (None when it cannot be known: no client or subject yet)."""
        if self.client is None:
            return None
        if self.provider == "haut":
            return self.client.target({"subject_id": self.subject_id}) if self.subject_id else None
        if self.provider == "coactive":
            # A registration is of a path: the same bytes at two paths are two assets.
            return f"{self.client.target({'dataset_id': self.options.dataset_id})} source={item.remote}"
        return self.client.target()

    def _fix_dir(self, index: int) -> str:
        with self._lock:
            if self._work_dir is None:
                self._work_dir = tempfile.mkdtemp(prefix="preflight-submit-", dir=self._work_root)
        return os.path.join(self._work_dir, str(index))  # one folder per file: the copy keeps its name

    # -- send ----------------------------------------------------------------------------------------------

    def _send_group(self, group: list[_Item]) -> list[SubmitOutcome]:
        due = [item for item in group if item.outcome is None]
        if due and self._auth_failed is not None:
            for item in due:
                item.end(FAILED, error=f"not sent: {self._auth_failed}", error_code="auth")
        elif due:
            send: Callable[[list[_Item], list[_Item]], None] = {
                "haut": self._send_haut,
                "coactive": self._send_coactive,
            }.get(self.provider, self._send_each)
            try:
                send(group, due)
            except PreflightError as exc:  # a call for the whole group failed (Coactive's statuses, ingest)
                for item in due:
                    if item.outcome is None:
                        self._fail(item, exc)
        return [item.outcome for item in group]  # type: ignore[misc]

    def _record(self, item: _Item, receipt: Receipt) -> Receipt:
        """Remember a receipt now: in memory (this run) and in the ledger (later runs), under the hash sent
        and, for a fixed copy, the original's hash too."""
        assert item.target is not None and item.content_hash is not None
        receipt = dataclasses.replace(receipt, target=item.target, content_hash=item.content_hash)
        keys = {item.content_hash, item.source_hash or item.content_hash}
        data = receipt.to_dict()
        for digest in keys:
            self._done[(digest, item.target)] = receipt
            if self.ledger is not None:
                self.ledger.record_receipt(self.provider, digest, item.target, data)
        return receipt

    def _fail(self, item: _Item, exc: PreflightError) -> None:
        if isinstance(exc, AuthError):
            self._auth_failed = exc
        local = isinstance(exc, RejectedError) and exc.status is None  # refused before sending
        message = str(exc.with_path(None)) if isinstance(exc, SubmitError) else str(exc)
        item.end(REFUSED if local else FAILED, error=message, error_code=getattr(exc, "code", "error"))

    def _send_each(self, group: list[_Item], due: list[_Item]) -> None:
        """autoretouch, dsio: one call per file."""
        for item in due:
            try:
                receipt = self.client.submit(
                    item.path,
                    content_hash=item.content_hash,
                    data_or_path=item.send_path,
                    options=item.client_options,
                )
            except PreflightError as exc:
                self._fail(item, exc)
                continue
            receipt = self._record(item, receipt)
            item.end(receipt.status, receipt=receipt)

    def _send_haut(self, group: list[_Item], due: list[_Item]) -> None:
        """Upload each side into one batch (recording each as "uploaded"), then compute it ("computed").

        A receipt still "uploaded" (a run stopped before compute) is not uploaded again: its batch is
        reused and computed.
        """
        refused = [item for item in group if item.outcome is not None and not item.outcome.ok]
        if refused:  # a one-batch session: sides go together or not at all
            for item in due:
                item.end(
                    FAILED,
                    error=f"not sent: {refused[0].path} of the same batch was refused",
                    error_code="batch",
                )
            return
        reuse = [i.existing for i in group if i.existing is not None and not self.force]
        batch_id: str | None = reuse[0].remote_ids.get("batch_id") if reuse else None
        mine: list[tuple[_Item, Receipt]] = []
        try:
            for item in due:
                if item.existing is not None and not self.force:
                    mine.append((item, item.existing))
                    continue
                image = self.client.upload_image(
                    self.subject_id,
                    item.send_path,
                    batch_id=batch_id,
                    side_id=item.side,
                    meta={"preflight_sha256": item.content_hash},
                    name=item.client_options.get("name"),
                    content_hash=item.content_hash,
                )
                batch_id = image.batch_id
                receipt = Receipt(
                    provider="haut",
                    path=item.path,
                    content_hash=item.content_hash or image.content_hash,
                    target=item.target or "",
                    remote_ids={
                        "subject_id": str(self.subject_id),
                        "image_id": image.image_id,
                        "batch_id": image.batch_id,
                        "side": SIDE_NAMES.get(item.side or 1, str(item.side)),
                    },
                    status="uploaded",
                )
                mine.append((item, self._record(item, receipt)))
            assert batch_id is not None
            if self.options.one_batch:
                keep = {r.remote_ids.get("image_id") for i in group if (r := i.existing) is not None}
                keep |= {r.remote_ids["image_id"] for _, r in mine}
                self._drop_strays(batch_id, keep)
            self.client.compute(batch_id)
        except PreflightError as exc:
            for item, _ in mine:
                item.end(
                    FAILED,
                    error=f"uploaded, not computed: {exc.with_path(None) if isinstance(exc, SubmitError) else exc}",
                    error_code=getattr(exc, "code", "error"),
                    note="run the same command again to compute its batch",
                )
            for item in due:
                if item.outcome is None:
                    self._fail(item, exc)
            return
        for item, receipt in mine:
            done = self._record(item, dataclasses.replace(receipt, status="computed"))
            item.end(done.status, receipt=done)

    def _drop_strays(self, batch_id: str, keep: set[str | None]) -> None:
        """Delete images of our batch that are not ours: records left by a signed-URL request whose answer
        was lost (never uploaded, they would make compute fail)."""
        for image in list(self.client.iter_images(self.subject_id)):
            if image.get("image_batch_id") == batch_id and image.get("id") not in keep:
                self.client.delete_image(str(image["id"]))

    def _send_coactive(self, group: list[_Item], due: list[_Item]) -> None:
        """Register a batch of paths (<= 100); paths Coactive already knows are not registered again."""
        todo = due
        if not self.force:
            statuses = self.client.asset_statuses([i.remote for i in due], dataset_id=self.options.dataset_id)
            known = {s.path: s for s in statuses if s.status and s.status != "error"}
            todo = []
            for item in due:
                status = known.get(item.remote or "")
                if status is None:
                    todo.append(item)
                    continue
                ids = {"source_path": status.path}
                if status.image_id:
                    ids["image_id"] = status.image_id
                receipt = self._record(
                    item, Receipt("coactive", item.path, item.content_hash or "", "", ids, status="exists")
                )
                item.end(receipt.status, receipt=receipt)
        if not todo:
            return
        receipts = self.client.submit_many(
            [(i.path, i.content_hash) for i in todo],
            options={
                "dataset_id": self.options.dataset_id,
                "wait": self.options.wait,
                "poll_interval": self.options.poll_interval,
            },
        )
        for item, receipt in zip(todo, receipts, strict=True):
            if receipt.status.startswith("error"):
                code = receipt.status.partition(":")[2] or "error"
                item.end(
                    FAILED, receipt=receipt, error=f"coactive could not ingest it: {code}", error_code=code
                )
                continue
            receipt = self._record(item, receipt)
            item.end(receipt.status, receipt=receipt)


def _chunks(items: Iterable[_Item], size: int) -> Iterator[list[_Item]]:
    batch: list[_Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _receipt(data: Mapping[str, Any]) -> Receipt | None:
    """A Receipt from the ledger's JSON; None for a row this code cannot read (then it is sent again)."""
    try:
        return Receipt(
            provider=str(data["provider"]),
            path=str(data["path"]),
            content_hash=str(data["content_hash"]),
            target=str(data["target"]),
            remote_ids={str(k): str(v) for k, v in dict(data.get("remote_ids") or {}).items()},
            status=str(data.get("status", "uploaded")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _findings_message(findings: Iterable[Finding]) -> str:
    return "; ".join(f"{f.code} {f.message}" for f in findings)


__all__ = ["ALREADY", "FAILED", "PLANNED", "REFUSED", "SIDES", "SubmitOptions", "SubmitOutcome", "submit"]
