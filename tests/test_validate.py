"""The run: preflight.check over files, folders and globs; validate_file never raises for bad input."""

from __future__ import annotations

from pathlib import Path

import preflight
from preflight.model import Profile
from preflight.validate import check, validate_file
from tests._png import make_png, png_bytes


def test_public_api():
    for name in ("check", "validate_file", "Report", "FileReport", "load_profile"):
        assert name in preflight.__all__ and hasattr(preflight, name)


def test_check_keeps_input_order_and_reports_everything(tmp_path):
    make_png(tmp_path / "b.png", 300, 300)
    (tmp_path / "dir").mkdir()
    make_png(tmp_path / "dir" / "a.png", 10, 10)
    seen = []
    report = preflight.check(
        [tmp_path / "b.png", tmp_path / "dir", tmp_path / "gone.png"], profile="haut", on_file=seen.append
    )
    assert [f.path for f in report.files] == [
        str(tmp_path / "b.png"),
        str(tmp_path / "dir" / "a.png"),
        str(tmp_path / "gone.png"),
    ]
    assert [f.path for f in seen] == [f.path for f in report.files]
    assert [f.ok for f in report.files] == [True, False, False]
    assert report.summary == {"files": 3, "ok": 1, "errors": 3, "warnings": 0}
    assert report.profile == "haut" and not report.ok


def test_check_accepts_one_path_and_a_profile_object(tmp_path):
    path = make_png(tmp_path / "a.png", 5, 5)
    report = check(str(path), Profile(name="tiny", max_width=4))
    assert report.profile == "tiny" and [f.code for f in report.files[0].findings] == ["PF203"]


def test_select_and_ignore(tmp_path):
    path = make_png(tmp_path / "a.jpg", 10, 10)
    assert [f.code for f in check([path], "haut").files[0].findings] == ["PF104", "PF201", "PF202"]
    assert [f.code for f in check([path], "haut", select=["PF2"]).files[0].findings] == ["PF201", "PF202"]
    assert [f.code for f in check([path], "haut", ignore=["PF201", "PF1"]).files[0].findings] == ["PF202"]


def test_mapper_is_the_one_seam_for_a_pool(tmp_path):
    paths = [make_png(tmp_path / f"{i}.png", 300, 300) for i in range(3)]
    calls = []

    def mapper(fn, files):
        calls.append(list(files))
        return [fn(f) for f in files]

    report = check(paths, "haut", mapper=mapper)
    assert calls == [[str(p) for p in paths]] and report.ok


def test_deep_finds_what_the_header_cannot(tmp_path):
    good = png_bytes(300, 300)
    bad = tmp_path / "cut.png"
    bad.write_bytes(good[: len(good) - 30])  # IDAT cut short, IEND gone
    assert validate_file(bad, Profile(name="p")).ok
    deep = validate_file(bad, Profile(name="p"), deep=True)
    assert [f.code for f in deep.findings] in (["PF502"], ["PF504"]) and deep.info is not None
    assert deep.findings[0].message.startswith("deep check")


def test_bomb_is_refused_before_any_decode(tmp_path):
    """20,000 x 20,000 declared, with garbage for image data: the guard fires and nothing decodes it."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bytes(20_000, 20_000, idat=b"garbage"))
    report = validate_file(bomb, Profile(name="p"), deep=True)
    assert [f.code for f in report.findings] == ["PF208"]
    # Under the limit the same garbage is decoded by the deep check, and caught.
    small = tmp_path / "small.png"
    small.write_bytes(png_bytes(20, 20, idat=b"garbage"))
    assert [f.code for f in validate_file(small, Profile(name="p"), deep=True).findings] == ["PF504"]
    # A profile's own max-pixels guards decoding too.
    capped = validate_file(small, Profile(name="p", max_pixels=399), deep=True)
    assert [f.code for f in capped.findings] == ["PF205"]


def test_unreadable_inputs_become_findings(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "folder.png").mkdir()
    damaged = bytearray(png_bytes(4, 4))
    damaged[29] ^= 0xFF  # inside IHDR: its CRC no longer matches
    (tmp_path / "crc.png").write_bytes(bytes(damaged))
    (tmp_path / "short.png").write_bytes(png_bytes(4, 4)[:20])
    codes = {
        name: [f.code for f in validate_file(tmp_path / name, Profile(name="p")).findings]
        for name in ("empty.png", "folder.png", "crc.png", "short.png", "missing.png")
    }
    assert codes == {
        "empty.png": ["PF102"],
        "folder.png": ["PF501"],
        "crc.png": ["PF504"],
        "short.png": ["PF502"],
        "missing.png": ["PF501"],
    }


def test_deep_check_without_a_decoder_is_a_warning_not_corruption():
    """pyvips-binary has no HEVC decoder: a valid HEIC must not be called corrupt under --deep."""
    import pyvips

    heic = str(Path(__file__).resolve().parent.parent / "data" / "photo.heic")
    try:
        pyvips.Image.new_from_file(heic, access="sequential").avg()
        has_hevc = True
    except pyvips.Error:
        has_hevc = False
    report = validate_file(heic, profile=Profile(name="any"), deep=True)
    codes = [f.code for f in report.findings]
    if has_hevc:
        assert codes == []
    else:
        assert codes == ["PF505"]
        assert report.findings[0].severity == "warning"


def test_hash_adds_digests_read_in_the_same_pass(tmp_path):
    import hashlib

    from preflight.ledger import Ledger

    a = make_png(tmp_path / "a.png", 300, 300)
    report = check([a], "haut", hash=("sha256", "blake3"), ledger=Ledger(enabled=False))
    (record,) = report.files
    assert record.digests["sha256"] == hashlib.sha256(Path(a).read_bytes()).hexdigest()
    assert set(record.digests) == {"sha256", "blake3"}
    assert report.to_dict()["files"][0]["digests"] == record.digests


def test_pool_and_ledger_give_the_same_report_as_a_plain_run(tmp_path):
    from preflight.ledger import Ledger

    for i, (w, h) in enumerate([(300, 300), (100, 400), (5000, 10), (256, 256)]):
        make_png(tmp_path / f"{i}.png", w, h)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    plain = check([tmp_path], "autoretouch")
    ledger = Ledger(tmp_path / "ledger.sqlite3", racy_window=0)
    cold = check([tmp_path], "autoretouch", ledger=ledger, jobs=2)
    warm = check([tmp_path], "autoretouch", ledger=ledger, jobs=2)
    assert plain.files == cold.files == warm.files


def test_a_changed_file_is_judged_again_not_served_from_the_ledger(tmp_path):
    from preflight.ledger import Ledger

    path = make_png(tmp_path / "a.png", 300, 300)
    ledger = Ledger(tmp_path / "ledger.sqlite3", racy_window=0)
    assert check([path], "haut", ledger=ledger).ok
    make_png(path, 300, 200)  # now too short for haut
    codes = [f.code for f in check([path], "haut", ledger=ledger).files[0].findings]
    assert codes == ["PF202"]
