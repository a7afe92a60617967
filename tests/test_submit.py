"""`preflight.submit` against the real emulators over TCP: validate -> fix -> hash -> upload, resumable."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from preflight.emulators import Faults, running
from preflight.errors import ConfigError
from preflight.ledger import Ledger
from preflight.providers import get_client
from preflight.submit import ALREADY, FAILED, PLANNED, REFUSED, SubmitOptions, submit
from tests._png import make_png
from tests.submit_support import PATIENT, credentials, images, sha, write_image_info

PROVIDERS = ("haut", "autoretouch", "dsio", "coactive")
SENT = {"haut": "computed", "autoretouch": "uploaded", "dsio": "uploaded", "coactive": "completed"}


def new_subject(emu) -> str:
    with get_client("haut", emu.base_url, credentials("haut", emu), options=PATIENT) as client:
        return str(client.create_subject("subject")["id"])


def options_for(provider: str, emu, folder: Path, tmp_path: Path, **kw) -> SubmitOptions:
    if provider == "haut":
        kw.setdefault("subject_id", new_subject(emu))
    if provider == "dsio":
        kw.setdefault("image_info", str(write_image_info(tmp_path / "info.json")))
    if provider == "coactive":
        kw.setdefault("dataset_id", "ds1")
        kw.setdefault("source_prefix", f"{folder}=file://{folder}")
        kw.setdefault("poll_interval", 0.001)
    return SubmitOptions(**kw)


def go(provider, emu, paths, options, *, ledger=None, secret=None, **kw):
    kw.setdefault("client_options", PATIENT)
    kw.setdefault("jobs", 4)
    creds = credentials(provider, emu, secret=secret)
    return list(
        submit(
            paths,
            provider=provider,
            base_url=emu.base_url,
            options=options,
            ledger=ledger,
            credentials=creds,
            **kw,
        )
    )


def refused_image(provider: str, folder: Path) -> Path:
    """A file each provider's profile refuses with an error finding that fix cannot repair."""
    folder.mkdir(parents=True, exist_ok=True)
    if provider == "haut":
        return make_png(folder / "small.png", 100, 100)  # below 256x256
    if provider == "dsio":
        return make_png(folder / "rgb.png", 8, 8, color_type=2)  # not 16-bit greyscale
    path = folder / "notes.png"
    path.write_bytes(b"this is not an image at all")  # PF102/PF503: not a readable image
    return path


# -- happy path, resume, force ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_happy_path_then_resume_then_force(provider, tmp_path):
    folder = tmp_path / "in"
    files = images(folder, provider, 3)
    bad = refused_image(provider, folder)
    with running(provider) as emu, Ledger(tmp_path / "ledger.db") as ledger:
        options = options_for(provider, emu, folder, tmp_path)
        first = go(provider, emu, [folder], options, ledger=ledger)
        assert [o.path for o in first] == sorted(str(p) for p in [*files, bad])
        by_path = {o.path: o for o in first}
        assert by_path[str(bad)].status == REFUSED and by_path[str(bad)].findings
        sent = [by_path[str(p)] for p in files]
        assert all(o.status == SENT[provider] and o.ok for o in sent)
        assert [o.content_hash for o in sent] == [sha(p) for p in files]
        assert all(o.receipt is not None and o.receipt.remote_ids for o in sent)
        # Each content reached the provider once; the refused file never did.
        assert emu.state.uploads == Counter({sha(p): 1 for p in files})
        for o in sent:
            assert ledger.find_receipt(provider, o.content_hash, o.receipt.target) is not None

        again = go(provider, emu, [folder], options, ledger=ledger)
        assert [o.status for o in again if o.path != str(bad)] == [ALREADY] * 3
        assert [o.receipt.remote_ids for o in again if o.ok] == [o.receipt.remote_ids for o in sent]
        assert emu.state.uploads == Counter({sha(p): 1 for p in files})

        forced = go(provider, emu, files, options, ledger=ledger, force=True)
        if provider == "autoretouch":  # HEAD finds the content: not sent again even when forced
            assert {o.status for o in forced} == {"exists"}
            assert emu.state.uploads == Counter({sha(p): 1 for p in files})
        else:
            assert {o.status for o in forced} == {SENT[provider]}
            assert emu.state.uploads == Counter({sha(p): 2 for p in files})


@pytest.mark.parametrize("provider", ["autoretouch", "coactive"])
def test_without_the_ledger_providers_that_can_check_are_not_sent_the_same_content_twice(provider, tmp_path):
    """A lost ledger (or --no-cache): AutoRetouch's HEAD and Coactive's path statuses still find the content."""
    folder = tmp_path / "in"
    files = images(folder, provider, 3)
    with running(provider) as emu:
        options = options_for(provider, emu, folder, tmp_path)
        go(provider, emu, [folder], options)
        again = go(provider, emu, [folder], options)
        assert [o.status for o in again] == ["exists"] * 3
        assert emu.state.uploads == Counter({sha(p): 1 for p in files})


def test_fixable_file_is_fixed_into_a_temporary_copy_and_the_original_is_untouched(tmp_path):
    from PIL import Image

    big = tmp_path / "in" / "wide.png"
    big.parent.mkdir()
    Image.new("RGB", (4200, 100), (10, 200, 30)).save(big)
    before = big.read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    with running("autoretouch") as emu, Ledger(tmp_path / "l.db") as ledger:
        (out,) = go("autoretouch", emu, [big], SubmitOptions(), ledger=ledger, work_dir=work)
        assert out.status == "uploaded"
        assert out.fixed and "downscaled 4200x100 -> 4096x98" in out.fixed[0]
        assert out.content_hash != sha(big) and list(emu.state.uploads) == [out.content_hash]
        # A re-run finds the receipt by the original's hash: neither fixed nor sent again.
        (again,) = go("autoretouch", emu, [big], SubmitOptions(), ledger=ledger, work_dir=work)
        assert again.status == ALREADY and again.content_hash == out.content_hash and not again.fixed
    assert big.read_bytes() == before
    assert list(work.iterdir()) == []  # fixed copies are removed at the end


def test_dry_run_sends_nothing_and_shows_the_plan(tmp_path):
    from PIL import Image

    folder = tmp_path / "in"
    files = images(folder, "autoretouch", 2)
    Image.new("RGB", (5000, 50)).save(folder / "wide.png")
    with running("autoretouch") as emu:
        outcomes = go(
            "autoretouch", emu, [folder], SubmitOptions(), ledger=Ledger(tmp_path / "l.db"), dry_run=True
        )
        assert emu.state.requests == 0
    assert [o.status for o in outcomes] == [PLANNED] * 3
    assert [o.content_hash for o in outcomes[:2]] == [sha(p) for p in files]
    assert outcomes[2].fixed and outcomes[2].content_hash != sha(folder / "wide.png")


def test_dry_run_without_credentials_still_validates_and_hashes(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFLIGHT_CREDENTIALS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.delenv("PREFLIGHT_DSIO_USER", raising=False)
    monkeypatch.delenv("PREFLIGHT_DSIO_API_KEY", raising=False)
    (png,) = images(tmp_path / "in", "dsio", 1)
    (out,) = submit(
        [png],
        provider="dsio",
        options=SubmitOptions(image_info=str(write_image_info(tmp_path / "i.json"))),
        dry_run=True,
    )
    assert out.status == PLANNED and out.content_hash == sha(png) and "ledger not consulted" in out.note
    with pytest.raises(ConfigError, match="PREFLIGHT_DSIO_USER"):
        submit([png], provider="dsio", options=SubmitOptions(image_info=str(tmp_path / "i.json")))


def test_same_content_twice_in_one_run_is_sent_once(tmp_path):
    (png,) = images(tmp_path / "a", "dsio", 1)
    twin = tmp_path / "b" / png.name
    twin.parent.mkdir()
    twin.write_bytes(png.read_bytes())
    with running("dsio") as emu:
        outcomes = go("dsio", emu, [png, twin], options_for("dsio", emu, tmp_path, tmp_path))
        assert sorted(o.status for o in outcomes) == sorted([ALREADY, "uploaded"])
        assert emu.state.uploads == Counter({sha(png): 1})


# -- refusals and errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_credentials_fail_clearly_without_the_secret(provider, tmp_path):
    folder = tmp_path / "in"
    images(folder, provider, 6)
    with running(provider) as emu:
        options = options_for(provider, emu, folder, tmp_path)
        outcomes = go(provider, emu, [folder], options, secret="wrong-secret-value-123", jobs=1)
        assert not emu.state.uploads
    assert {o.status for o in outcomes} == {FAILED} and {o.error_code for o in outcomes} == {"auth"}
    assert "401" in outcomes[0].error
    assert all("wrong-secret-value-123" not in repr(o) for o in outcomes)


def test_after_an_auth_failure_the_rest_is_not_attempted(tmp_path):
    folder = tmp_path / "in"
    images(folder, "autoretouch", 20)
    with running("autoretouch") as emu:
        outcomes = go("autoretouch", emu, [folder], SubmitOptions(), secret="nope-nope", jobs=1)
        assert emu.state.requests == 1
    assert all(o.error_code == "auth" for o in outcomes)
    assert outcomes[1].error.startswith("not sent:")


def test_deep_refuses_a_truncated_file_that_the_header_alone_lets_through(tmp_path):
    from PIL import Image

    jpeg = tmp_path / "cut.jpg"
    Image.new("RGB", (64, 64), (200, 10, 10)).save(jpeg, quality=95)
    jpeg.write_bytes(jpeg.read_bytes()[:-200])
    with running("autoretouch") as emu:
        (deep,) = go("autoretouch", emu, [jpeg], SubmitOptions(), deep=True)
        assert deep.status == REFUSED and "PF50" in deep.error and not emu.state.uploads
        (shallow,) = go("autoretouch", emu, [jpeg], SubmitOptions())
        assert shallow.status == "uploaded"


def test_server_side_4xx_is_reported_with_the_providers_message(tmp_path):
    from PIL import Image

    gif = tmp_path / "anim.gif"
    Image.new("P", (20, 20)).save(gif)
    with running("autoretouch") as emu:
        # The "default" profile accepts a GIF; AutoRetouch itself answers 422.
        (out,) = go("autoretouch", emu, [gif], SubmitOptions(), profile="default")
    assert out.status == FAILED and out.error_code == "rejected"
    assert "HTTP 422" in out.error and "GIF" in out.error


def test_haut_unknown_subject_is_a_clear_404(tmp_path):
    files = images(tmp_path / "in", "haut", 1)
    with running("haut") as emu:
        (out,) = go("haut", emu, files, SubmitOptions(subject_id="no-such-subject"))
    assert out.status == FAILED and out.error_code == "not-found" and "HTTP 404" in out.error


def test_coactive_ingestion_error_is_a_failure_and_not_recorded(tmp_path):
    folder = tmp_path / "in"
    (png,) = images(folder, "coactive", 1)
    with running("coactive") as emu, Ledger(tmp_path / "l.db") as ledger:
        # The prefix points Coactive at a folder where the file is not.
        options = options_for(
            "coactive", emu, folder, tmp_path, source_prefix=f"{folder}=file://{tmp_path}/elsewhere"
        )
        (out,) = go("coactive", emu, [png], options, ledger=ledger)
        assert out.status == FAILED and out.error_code == "file_not_found"
        assert ledger.find_receipt("coactive", sha(png), out.receipt.target) is None


def test_dsio_bad_image_info_refuses_before_sending(tmp_path):
    (png,) = images(tmp_path / "in", "dsio", 1)
    png.with_name(png.name + ".json").write_text('{"acquisitionInfo": {"binning": "Binned4x4"}}')
    with running("dsio") as emu:
        (out,) = go("dsio", emu, [png], SubmitOptions())
        assert emu.state.requests == 0
    assert out.status == REFUSED and "Binned4x4" in out.error and "lutInfo" in out.error


@pytest.mark.parametrize(
    ("provider", "options", "message"),
    [
        ("autoretouch", SubmitOptions(subject_id="x"), "--subject-id applies to haut only"),
        ("haut", SubmitOptions(), "--subject-id ID or --subject-name"),
        ("haut", SubmitOptions(subject_id="s", sides=("front", "left")), "2 --side values for 1 files"),
        ("coactive", SubmitOptions(dataset_id="d"), "--source-prefix"),
        ("coactive", SubmitOptions(source_prefix="a=b"), "--dataset-id"),
        ("coactive", SubmitOptions(dataset_id="d", source_prefix="nothing"), "LOCAL=REMOTE"),
    ],
)
def test_bad_options_are_config_errors(provider, options, message, tmp_path):
    files = images(tmp_path, "haut", 1)
    with running(provider) as emu, pytest.raises(ConfigError, match=message):
        go(provider, emu, files, options)


# -- haut batches ----------------------------------------------------------------------------------------


def test_haut_one_batch_resumes_an_uploaded_side_and_drops_strays(tmp_path):
    front, right, left = images(tmp_path / "in", "haut", 3)
    with running("haut") as emu, Ledger(tmp_path / "l.db") as ledger:
        subject = new_subject(emu)
        options = SubmitOptions(subject_id=subject, one_batch=True)
        # What a run killed after its first side leaves: that side uploaded and recorded, never computed,
        # plus a stray record in the batch (a signed-URL answer that was lost).
        with get_client("haut", emu.base_url, credentials("haut", emu), options=PATIENT) as client:
            first = client.upload_image(subject, front, side_id=1)
            client.signed_upload_url(subject, batch_id=first.batch_id, side_id=2)
            target = client.target({"subject_id": subject})
        ledger.record_receipt(
            "haut",
            sha(front),
            target,
            {
                "provider": "haut",
                "path": str(front),
                "content_hash": sha(front),
                "target": target,
                "remote_ids": {"subject_id": subject, "image_id": first.image_id, "batch_id": first.batch_id},
                "status": "uploaded",
            },
        )
        outcomes = go("haut", emu, [front, right, left], options, ledger=ledger)
        assert [o.status for o in outcomes] == ["computed"] * 3
        assert {o.receipt.remote_ids["batch_id"] for o in outcomes} == {first.batch_id}
        assert [o.receipt.remote_ids.get("side") for o in outcomes[1:]] == ["right", "left"]
        assert emu.state.uploads == Counter({sha(front): 1, sha(right): 1, sha(left): 1})
        assert emu.state.events["compute"] == 1 and emu.state.events["delete"] == 1
        again = go("haut", emu, [front, right, left], options, ledger=ledger)
        assert [o.status for o in again] == [ALREADY] * 3 and emu.state.events["compute"] == 1


def test_haut_one_batch_sends_nothing_when_a_side_is_refused(tmp_path):
    (front,) = images(tmp_path / "in", "haut", 1)
    small = make_png(tmp_path / "in" / "small.png", 10, 10)
    with running("haut") as emu:
        outcomes = go("haut", emu, [front, small], SubmitOptions(subject_id=new_subject(emu), one_batch=True))
        assert not emu.state.uploads
    assert [o.status for o in outcomes] == [FAILED, REFUSED]
    assert "small.png of the same batch was refused" in outcomes[0].error


# -- faults ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_500_files_through_20_percent_faults_each_stored_exactly_once(provider, tmp_path):
    folder = tmp_path / "in"
    files = images(folder, provider, 500)
    faults = Faults(error_rate=0.2, seed=11)
    with running(provider, faults=faults) as emu, Ledger(tmp_path / "l.db") as ledger:
        options = options_for(provider, emu, folder, tmp_path)
        outcomes = go(provider, emu, [folder], options, ledger=ledger, jobs=8)
        assert emu.state.faults["error:before"] > 0.1 * emu.state.requests  # (coactive: 5 batches, few calls)
        assert [o.status for o in outcomes] == [SENT[provider]] * 500
        assert emu.state.uploads == Counter({sha(p): 1 for p in files})
        assert all(ledger.find_receipt(provider, o.content_hash, o.receipt.target) for o in outcomes)


@pytest.mark.parametrize("phase", ["after", "mixed"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_faults_after_processing(provider, phase, tmp_path):
    """Answers lost after the server acted. AutoRetouch (HEAD) and Coactive (path statuses) check before
    retrying: exactly once. Haut retries the PUT to the same signed URL: one object per content, which the
    emulator counts once per PUT. DSIO cannot check: at least once."""
    folder = tmp_path / "in"
    files = images(folder, provider, 120)
    faults = Faults(error_rate=0.2, fault_phase=phase, seed=5)
    with running(provider, faults=faults) as emu:
        options = options_for(provider, emu, folder, tmp_path)
        outcomes = go(provider, emu, [folder], options, ledger=Ledger(tmp_path / "l.db"), jobs=8)
        assert emu.state.faults["error:after"] > 0
        assert all(o.ok and o.receipt is not None for o in outcomes)
        assert set(emu.state.uploads) == {sha(p) for p in files}
        if provider in ("autoretouch", "coactive"):
            assert emu.state.uploads == Counter({sha(p): 1 for p in files})
        if provider == "haut":
            backend = emu.app.state.backend
            stored = Counter(image.sha256 for image in backend.images.values() if image.sha256)
            assert stored == Counter({sha(p): 1 for p in files})  # one image object holds each content
