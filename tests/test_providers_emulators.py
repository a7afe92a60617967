"""The real clients against the real emulators over TCP: happy paths, auth failures, 4xx, injected faults."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest

emulators = pytest.importorskip("preflight.emulators")

from preflight.errors import AuthError, NotFoundError, RejectedError  # noqa: E402
from preflight.providers import RetryPolicy, get_client  # noqa: E402
from preflight.providers.credentials import (  # noqa: E402
    AutoRetouchCredentials,
    CoactiveCredentials,
    DsioCredentials,
    HautCredentials,
    Secret,
)
from tests.providers_support import fast_options, png_bytes  # noqa: E402

Faults = emulators.Faults
# Seeded faults and enough attempts that a run of bad luck cannot fail the test.
PATIENT = fast_options(
    retry=RetryPolicy(
        attempts=12, timeout=30, wait_initial=0.001, wait_max=0.005, wait_jitter=0, max_retry_after=0.01
    )
)
LUT = {"gamma": 2.3, "slope": 65535, "offset": 0, "totalGrays": 4096, "minimumGray": 3085, "maximumGray": 0}
INFO = {"acquisitionInfo": {"binning": "Binned2X2"}, "lutInfo": LUT}


def jpeg(seed: int, size: int = 300) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), (seed % 256, (seed * 7) % 256, (seed * 13) % 256)).save(buf, "JPEG")
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def haut(emu, token="haut-test-token", options=None):
    creds = HautCredentials(Secret(token), "c0mpany", "dataset1")
    return get_client("haut", emu.base_url, creds, options=options or fast_options())


def autoretouch(emu, token="ar-test-token", options=None):
    return get_client(
        "autoretouch",
        emu.base_url,
        AutoRetouchCredentials(Secret(token), "org1"),
        options=options or fast_options(),
    )


def dsio(emu, key="dsio-test-key", options=None):
    return get_client(
        "dsio", emu.base_url, DsioCredentials("dsio", Secret(key)), options=options or fast_options()
    )


def coactive(emu, creds=None, options=None, **kw):
    creds = creds or CoactiveCredentials(Secret("coactive-test-token"))
    return get_client(
        "coactive", emu.base_url, creds, options=options or fast_options(), dataset_id="ds1", **kw
    )


# -- haut ------------------------------------------------------------------------------------------------


def test_haut_happy_path_with_sides_in_one_batch():
    with emulators.running("haut") as emu, haut(emu) as client:
        subject = client.create_subject("alice")["id"]
        images = client.upload_sides(subject, {1: jpeg(1), 2: jpeg(2), 3: jpeg(3)})
        assert len({i.batch_id for i in images}) == 1
        listed = list(client.iter_images(subject))
        assert sorted(i["id"] for i in listed) == sorted(i.image_id for i in images)
        assert client.get_image(images[0].image_id)["id"] == images[0].image_id
        client.delete_image(images[0].image_id)
        with pytest.raises(NotFoundError):
            client.get_image(images[0].image_id)
    assert emu.state.uploads == {sha(jpeg(n)): 1 for n in (1, 2, 3)}
    assert emu.state.events["compute"] == 1


def test_haut_auth_failure_is_clear():
    with (
        emulators.running("haut") as emu,
        haut(emu, token="wrong-haut-token") as client,
        pytest.raises(AuthError) as info,
    ):
        client.submit("selfie.jpg", data_or_path=jpeg(1), options={"subject_name": "x"})
    assert "selfie.jpg" in str(info.value) and "401" in str(info.value)
    assert "wrong-haut-token" not in str(info.value) and "haut-test-token" not in str(info.value)


def test_haut_server_side_400_is_rejected_with_its_message():
    with emulators.running("haut") as emu, haut(emu) as client:
        subject = client.create_subject("bob")["id"]
        with pytest.raises(RejectedError) as info:
            client.signed_upload_url(subject, side_id=9)
    assert info.value.status == 400 and "side_id" in (info.value.provider_message or "")


def test_haut_retries_through_faults_before_processing():
    faults = Faults(error_rate=0.15, throttle_rate=0.1, drop_rate=0.1, seed=7)
    with emulators.running("haut", faults=faults) as emu, haut(emu, options=PATIENT) as client:
        subject = client.create_subject("carol")["id"]
        receipts = [
            client.submit(f"{n}.jpg", data_or_path=jpeg(n), options={"subject_id": subject})
            for n in range(12)
        ]
    assert emu.state.faults_injected > 0
    assert all(r.status == "computed" for r in receipts)
    assert emu.state.uploads == {sha(jpeg(n)): 1 for n in range(12)}


def test_haut_sides_survive_lost_answers_after_processing():
    # A signed-URL request acted on but answered 5xx, then retried, leaves an empty image in the batch;
    # upload_sides deletes it (and a retried DELETE that finds it gone is done), so compute succeeds.
    faults = Faults(error_rate=0.3, fault_phase="after", seed=2)
    with emulators.running("haut", faults=faults) as emu, haut(emu, options=PATIENT) as client:
        for k in range(3):
            subject = client.create_subject(f"s{k}")["id"]
            images = client.upload_sides(subject, {1: jpeg(1), 2: jpeg(2), 3: jpeg(3)})
            in_batch = [
                i["id"] for i in client.iter_images(subject) if i["image_batch_id"] == images[0].batch_id
            ]
            assert sorted(in_batch) == sorted(i.image_id for i in images)
    assert emu.state.faults["error:after"] > 0 and emu.state.events["compute"] >= 3


# -- autoretouch -----------------------------------------------------------------------------------------


def test_autoretouch_happy_path_and_skip():
    with emulators.running("autoretouch") as emu, autoretouch(emu) as client:
        first = client.submit("a.jpg", data_or_path=jpeg(1))
        again = client.submit("a.jpg", data_or_path=jpeg(1))
    assert (first.status, again.status) == ("uploaded", "exists")
    assert first.content_hash == sha(jpeg(1)) and emu.state.uploads == {sha(jpeg(1)): 1}


def test_autoretouch_auth_failure_and_422():
    with emulators.running("autoretouch") as emu:
        with autoretouch(emu, token="bad-ar-token") as client, pytest.raises(AuthError) as info:
            client.submit("a.jpg", data_or_path=jpeg(1))
        assert "bad-ar-token" not in str(info.value)
        with autoretouch(emu) as client, pytest.raises(RejectedError) as info:
            client.submit("notes.txt", data_or_path=b"plain text, not an image")
        assert info.value.status == 422 and info.value.provider_message


def test_autoretouch_after_phase_faults_never_upload_twice():
    faults = Faults(error_rate=0.2, drop_rate=0.1, fault_phase="after", seed=3)
    with emulators.running("autoretouch", faults=faults) as emu, autoretouch(emu, options=PATIENT) as client:
        receipts = [client.submit(f"{n}.jpg", data_or_path=jpeg(n)) for n in range(15)]
    assert emu.state.faults_injected > 0
    assert {r.content_hash for r in receipts} == {sha(jpeg(n)) for n in range(15)}
    assert emu.state.uploads == {sha(jpeg(n)): 1 for n in range(15)}


# -- dsio ------------------------------------------------------------------------------------------------


def test_dsio_happy_path(tmp_path):
    scan = tmp_path / "scan.png"
    scan.write_bytes(png_bytes())
    (tmp_path / "scan.png.json").write_text(
        json.dumps({"acquisitionInfo": {"binning": "Unbinned"}, "lutInfo": LUT})
    )
    with emulators.running("dsio") as emu, dsio(emu) as client:
        receipt = client.submit(scan)
        image_id = receipt.remote_ids["image_id"]
        assert client.get_image(image_id).image_info["acquisitionInfo"]["binning"] == "Unbinned"
        assert client.get_media(image_id) == scan.read_bytes()
        client.delete_image(image_id)
        with pytest.raises(NotFoundError):
            client.get_image(image_id)
    assert emu.state.uploads == {sha(scan.read_bytes()): 1}


def test_dsio_auth_failure():
    with (
        emulators.running("dsio") as emu,
        dsio(emu, key="bad-dsio-key") as client,
        pytest.raises(AuthError) as info,
    ):
        client.submit("scan.png", data_or_path=png_bytes(), options={"image_info": INFO})
    assert "bad-dsio-key" not in str(info.value) and info.value.status == 401


def test_dsio_retries_through_faults():
    faults = Faults(error_rate=0.2, throttle_rate=0.1, drop_rate=0.1, seed=11)
    with emulators.running("dsio", faults=faults) as emu, dsio(emu, options=PATIENT) as client:
        scans = [png_bytes(size=(20 + n, 20)) for n in range(10)]
        receipts = [
            client.submit(f"{n}.png", data_or_path=s, options={"image_info": INFO})
            for n, s in enumerate(scans)
        ]
    assert emu.state.faults_injected > 0 and len({r.remote_ids["image_id"] for r in receipts}) == 10
    assert emu.state.uploads == {sha(s): 1 for s in scans}


# -- coactive --------------------------------------------------------------------------------------------


def test_coactive_happy_path_with_login(tmp_path):
    files = []
    for n in range(3):
        f = tmp_path / f"{n}.jpg"
        f.write_bytes(jpeg(n, 400))
        files.append(f)
    creds = CoactiveCredentials(None, "coactive-client-id", Secret("coactive-client-secret"))
    with (
        emulators.running("coactive") as emu,
        coactive(emu, creds, source_prefix=(str(tmp_path), "s3://bkt/shots")) as client,
    ):
        receipts = client.submit_many(
            [(f, None) for f in files], options={"wait": True, "poll_interval": 0.001}
        )
        image_id = receipts[0].remote_ids["image_id"]
        assert client.image_metadata(image_id)["path"] == "s3://bkt/shots/0.jpg"
    assert [r.status for r in receipts] == ["completed"] * 3
    assert emu.state.events["login"] == 1


def test_coactive_auth_failure_and_4xx():
    with emulators.running("coactive") as emu:
        with (
            coactive(emu, CoactiveCredentials(Secret("bad-coactive-token"))) as client,
            pytest.raises(AuthError) as info,
        ):
            client.submit("s3://b/x.jpg", content_hash="0" * 64)
        assert "bad-coactive-token" not in str(info.value)
        with coactive(emu) as client:
            with pytest.raises(NotFoundError):
                client.job_status("no-such-job")
            with pytest.raises(RejectedError) as info:
                client.images_metadata([])
            assert info.value.status == 422 and "coactive_image_ids" in (info.value.provider_message or "")


def test_coactive_after_phase_faults_register_each_path_once():
    faults = Faults(error_rate=0.3, drop_rate=0.1, fault_phase="after", seed=5)
    paths = [f"s3://bkt/{n}.jpg" for n in range(230)]
    with (
        emulators.running("coactive", faults=faults) as emu,
        coactive(emu, options=PATIENT, batch_size=20) as client,
    ):
        receipts = client.submit_many([(p, "0" * 64) for p in paths])
    assert len(receipts) == 230 and emu.state.faults_injected > 0
    assert emu.state.uploads == dict.fromkeys(paths, 1)


def test_no_secret_in_logs_over_tcp(caplog):
    import logging

    with caplog.at_level(logging.DEBUG), emulators.running("haut") as emu:
        with haut(emu) as client:
            subject = client.create_subject("dave")["id"]
            client.submit("ok.jpg", data_or_path=jpeg(5), options={"subject_id": subject})
        with haut(emu, token="wrong-haut-token") as client, pytest.raises(AuthError):
            client.get_image("x")
    assert "HTTP Request" in caplog.text  # httpx logged the signed PUT, redacted
    for secret in ("haut-test-token", "wrong-haut-token"):
        assert secret not in caplog.text
    signatures = re.findall(r"X-Goog-Signature=([^&\s\"']+)", caplog.text)
    assert signatures and set(signatures) == {"REDACTED"}
