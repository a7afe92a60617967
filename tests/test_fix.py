"""`fix`: downscale to a long-edge limit and shrink to a byte limit, keeping what matters, never touching originals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import pyvips
from click.testing import CliRunner

from preflight.cli import main
from preflight.errors import FixError, PreflightError
from preflight.fix import fit_long_edge, fix, fix_file, output_names
from preflight.model import ColorMode, Profile
from preflight.probe import probe
from preflight.validate import validate_file
from tests._png import png_bytes
from tests.conftest import corpus

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
RNG = np.random.default_rng(20240501)


# ---------------------------------------------------------------- helpers


def gradient(width: int, height: int, bands: int = 3, *, depth: int = 8, noise: float = 0.1) -> np.ndarray:
    """A smooth ramp plus some noise: compresses like a photo, not like a flat field."""
    top = 255 if depth == 8 else 65535
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    ramp = (x * 0.6 + y * 0.3) * np.linspace(0.5, 1, bands)[None, None, :]
    values = (ramp + RNG.random((height, width, bands)) * noise) * top
    return np.clip(values, 0, top).astype(np.uint8 if depth == 8 else np.uint16)


def ramp(width: int, height: int) -> pyvips.Image:
    """A large smooth 8-bit RGB image built lazily by libvips (a numpy array of this size is slow to make)."""
    xy = pyvips.Image.xyz(width, height)
    grey = (xy[0] * (200 / width) + xy[1] * (50 / height)).cast("uchar")
    return grey.bandjoin([grey, 255 - grey]).copy(interpretation="srgb")


def vips(array: np.ndarray, interpretation: str) -> pyvips.Image:
    return pyvips.Image.new_from_array(array, interpretation=interpretation)


def save(image: pyvips.Image, path: Path, **options) -> Path:
    image.write_to_file(str(path), **options)
    return path


def with_orientation(image: pyvips.Image, orientation: int) -> pyvips.Image:
    image = image.copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return image


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pixel(image: pyvips.Image, x: int, y: int) -> list[float]:
    return image(x, y)


def close(actual: list[float], expected: tuple[int, ...], tolerance: float) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


# ---------------------------------------------------------------- orientation

# How a viewer shows stored pixels for each EXIF orientation (EXIF 2.32, tag 0x0112), on (row, column) arrays.
SHOW = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, k=-1),  # rotate 90 degrees clockwise
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, k=1),  # rotate 90 degrees anticlockwise
}
CANDIDATES = [
    lambda a: a,
    lambda a: a[:, ::-1],
    lambda a: a[::-1, :],
    lambda a: a[::-1, ::-1],
    lambda a: a.transpose(1, 0, 2),
    lambda a: np.rot90(a, k=1),
    lambda a: np.rot90(a, k=-1),
    lambda a: a[::-1, ::-1].transpose(1, 0, 2),
]


def stored_for(shown: np.ndarray, orientation: int) -> np.ndarray:
    """The stored pixels that a viewer honouring `orientation` shows as `shown` (found by trying all 8)."""
    for transform in CANDIDATES:
        stored = np.ascontiguousarray(transform(shown))
        if np.array_equal(SHOW[orientation](stored), shown):
            return stored
    raise AssertionError(f"no stored layout for orientation {orientation}")


def marked(width: int, height: int, *, depth: int = 8) -> np.ndarray:
    """Shown as: red top-left block, green top-right block, blue elsewhere (two marks pin all 8 layouts)."""
    top = 255 if depth == 8 else 65535
    a = np.zeros((height, width, 3), np.uint8 if depth == 8 else np.uint16)
    a[:, :] = (0, 0, top)
    a[: height // 3, : width // 3] = (top, 0, 0)
    a[: height // 3, width - width // 3 :] = (0, top, 0)
    return a


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["jpeg-8bit", "png-16bit"])
def test_output_is_upright_for_every_orientation(tmp_path, orientation, kind):
    depth = 16 if kind == "png-16bit" else 8
    shown = marked(96, 60, depth=depth)
    stored = vips(stored_for(shown, orientation), "rgb16" if depth == 16 else "srgb")
    source = tmp_path / ("in.png" if depth == 16 else "in.jpg")
    save(with_orientation(stored, orientation), source, **({} if depth == 16 else {"Q": 95}))
    assert probe(source).orientation == orientation

    result = fix_file(source, tmp_path / "out", max_long_edge=48, max_bytes=None)

    assert (result.width, result.height) == (48, 30)
    out = pyvips.Image.new_from_file(result.output)
    assert (out.width, out.height) == (48, 30)
    assert probe(result.output).orientation == 1
    top = 65535 if depth == 16 else 255
    scale = lambda rgb: tuple(v * top // 255 for v in rgb)  # noqa: E731
    tol = top * 0.15
    assert close(pixel(out, 4, 4), scale(RED), tol), pixel(out, 4, 4)
    assert close(pixel(out, 43, 4), scale(GREEN), tol), pixel(out, 43, 4)
    assert close(pixel(out, 4, 25), scale(BLUE), tol), pixel(out, 4, 25)
    assert close(pixel(out, 43, 25), scale(BLUE), tol), pixel(out, 43, 25)
    if orientation != 1:
        assert any("upright" in step for step in result.steps)


def test_orientation_libvips_does_not_apply_is_applied_from_the_probe(tmp_path):
    # An AVIF rotated by its irot box: libvips reads it unrotated (630x420, no orientation), the probe
    # says orientation 6. The output must be the rotated image, not a squeezed unrotated one.
    source = corpus("imagesize_py", "test", "images") / "test-rotated.avif"
    assert (probe(source).orientation, probe(source).oriented_width) == (6, 420)

    result = fix_file(source, tmp_path / "out", max_long_edge=315, max_bytes=None)

    out = pyvips.Image.new_from_file(result.output)
    assert (out.width, out.height) == (210, 315)
    expected = pyvips.Image.new_from_file(str(source)).rot90().resize(0.5)  # rot90 is clockwise
    assert (out - expected).abs().avg() < 8
    assert probe(result.output).orientation == 1


@pytest.mark.parametrize(
    ("parts", "name", "depth", "mode"),
    [
        (("libjpeg-turbo", "testimages"), "monkey16.png", 16, ColorMode.RGB),
        (("pngsuite", "png"), "basn4a16.png", 16, ColorMode.GRAY_ALPHA),
        (("libjpeg-turbo", "testimages"), "testimgari.jpg", 8, ColorMode.RGB),
    ],
)
def test_corpus_files_keep_depth_and_mode(tmp_path, parts, name, depth, mode):
    source = corpus(*parts) / name
    before = digest(source)

    result = fix_file(source, tmp_path / "out", max_long_edge=16, max_bytes=None)

    info = probe(result.output)
    assert (info.bit_depth, info.color_mode, info.long_edge) == (depth, mode, 16)
    assert digest(source) == before


# ---------------------------------------------------------------- what is kept


@pytest.mark.parametrize(
    ("suffix", "interpretation", "bands"),
    [(".png", "rgb16", 3), (".png", "grey16", 1), (".tif", "rgb16", 4), (".tif", "grey16", 1)],
)
def test_sixteen_bit_stays_sixteen_bit(tmp_path, suffix, interpretation, bands):
    array = gradient(4100, 10, bands, depth=16)
    source = save(vips(array, interpretation), tmp_path / f"deep{suffix}")

    result = fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=None)

    out = pyvips.Image.new_from_file(result.output)
    assert (out.width, out.height) == (4096, 10)
    assert out.format == "ushort"
    assert out.interpretation == interpretation
    assert out.bands == bands
    assert probe(result.output).bit_depth == 16
    # The values are the source's, resampled - not 8-bit values scaled up.
    assert abs(out.avg() - float(array.mean())) < 0.01 * 65535
    assert out.max() > 256


def test_icc_profile_survives_byte_for_byte_and_colours_are_not_converted(tmp_path):
    image = vips(gradient(4100, 40), "srgb").icc_transform("p3")  # pixels in Display P3, profile embedded
    source = save(image, tmp_path / "p3.jpg", Q=95)
    icc = pyvips.Image.new_from_file(str(source)).get("icc-profile-data")

    result = fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=None)

    out = pyvips.Image.new_from_file(result.output)
    assert out.get("icc-profile-data") == icc
    original = pyvips.Image.new_from_file(str(source))
    for band in range(3):  # no conversion to sRGB: the channel means stay put
        assert abs(out[band].avg() - original[band].avg()) < 1.5


def test_icc_profile_survives_on_the_sixteen_bit_path(tmp_path):
    image = vips(gradient(4100, 8, depth=16), "rgb16").copy()
    icc = vips(gradient(8, 8), "srgb").icc_transform("p3").get("icc-profile-data")
    image.set_type(pyvips.GValue.blob_type, "icc-profile-data", icc)
    source = save(image, tmp_path / "p3-16.png")

    result = fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=None)

    assert pyvips.Image.new_from_file(result.output).get("icc-profile-data") == icc


def test_cmyk_stays_cmyk_with_its_profile(tmp_path):
    image = vips(gradient(4100, 30), "srgb").icc_transform("cmyk")
    source = save(image, tmp_path / "print.jpg", Q=92)
    icc = pyvips.Image.new_from_file(str(source)).get("icc-profile-data")

    result = fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=None)

    info = probe(result.output)
    assert info.color_mode is ColorMode.CMYK
    assert (info.width, info.height) == (4096, 30)
    out = pyvips.Image.new_from_file(result.output)
    assert out.interpretation == "cmyk"
    assert out.get("icc-profile-data") == icc


@pytest.mark.parametrize(("depth", "interpretation"), [(8, "srgb"), (16, "rgb16")])
def test_alpha_survives_without_dark_fringes(tmp_path, depth, interpretation):
    top = 255 if depth == 8 else 65535
    array = np.zeros((10, 4100, 4), np.uint8 if depth == 8 else np.uint16)
    array[:, ::2] = (top, top, top, top)  # white opaque columns between fully transparent black ones
    source = save(vips(array, interpretation), tmp_path / "alpha.png")

    result = fix_file(source, tmp_path / "out", max_long_edge=2050, max_bytes=None)  # 2 columns -> 1

    out = pyvips.Image.new_from_file(result.output)
    assert out.bands == 4 and out.hasalpha()
    assert probe(result.output).has_alpha
    alpha = out[3]
    assert abs(alpha.avg() - top / 2) < top * 0.1  # coverage averaged, not dropped or flattened
    # Premultiplied resampling: where something is visible its colour is still white, not greyed by
    # the black of the transparent neighbours.
    mask = (alpha > top * 0.1).ifthenelse(1, 0)
    visible_red_min = (mask == 1).ifthenelse(out[0], top).min()
    assert visible_red_min > top * 0.9


def test_webp_lossless_stays_lossless(tmp_path):
    source = save(vips(gradient(4100, 12), "srgb"), tmp_path / "l.webp", lossless=True)
    assert probe(source).codec == "VP8L"

    result = fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=None)

    assert probe(result.output).codec == "VP8L"
    assert "lossless" in result.steps[-1]


def test_metadata_is_kept_by_default_and_strip_drops_it_but_keeps_icc(tmp_path):
    image = vips(gradient(4100, 20), "srgb").icc_transform("p3").copy()
    image.set_type(pyvips.GValue.blob_type, "xmp-data", b'<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>')
    source = save(with_orientation(image, 1), tmp_path / "meta.jpg", Q=90)
    fields = pyvips.Image.new_from_file(str(source)).get_fields()
    assert "exif-data" in fields and "xmp-data" in fields

    kept = pyvips.Image.new_from_file(
        fix_file(source, tmp_path / "a", max_long_edge=4096, max_bytes=None).output
    )
    stripped = pyvips.Image.new_from_file(
        fix_file(source, tmp_path / "b", max_long_edge=4096, max_bytes=None, strip=True).output
    )

    assert "exif-data" in kept.get_fields() and "xmp-data" in kept.get_fields()
    assert "exif-data" not in stripped.get_fields() and "xmp-data" not in stripped.get_fields()
    assert stripped.get("icc-profile-data") == kept.get("icc-profile-data")


def test_format_and_quality_default_and_override(tmp_path):
    source = save(vips(gradient(4200, 300), "srgb"), tmp_path / "q.jpg", Q=95)

    default = fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=None)
    low = fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=None, quality=60)

    assert probe(default.output).format == "JPEG"
    assert default.steps[-1] == "encoded as JPEG at quality 92"
    assert low.steps[-1] == "encoded as JPEG at quality 60"
    assert low.bytes < default.bytes


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((8191, 3), (4096, 2)),  # 1.5 rounds half up
        ((3, 8191), (2, 4096)),
        ((5000, 4097), (4096, 3356)),
        ((4097, 4097), (4096, 4096)),
        ((4100, 10), (4096, 10)),
        ((100000, 1), (4096, 1)),  # never 0 px
        ((4096, 4096), (4096, 4096)),  # at the limit: unchanged
        ((300, 200), (300, 200)),  # never upscaled
    ],
)
def test_fit_long_edge(size, expected):
    assert fit_long_edge(*size, 4096) == expected


@pytest.mark.parametrize(
    ("size", "suffix", "depth"), [((8191, 3), ".jpg", 8), ((8191, 3), ".png", 16), ((5000, 4097), ".jpg", 8)]
)
def test_output_dimensions_are_exact_for_odd_aspect_ratios(tmp_path, size, suffix, depth):
    width, height = size
    image = ramp(width, height)
    source = save(
        image.cast("ushort").copy(interpretation="rgb16") if depth == 16 else image, tmp_path / f"odd{suffix}"
    )

    result = fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=None)

    expected = fit_long_edge(width, height, 4096)
    out = pyvips.Image.new_from_file(result.output)
    assert (out.width, out.height) == expected == (result.width, result.height)
    assert result.steps[0] == f"downscaled {width}x{height} -> {expected[0]}x{expected[1]}"


def test_images_at_or_below_the_limits_are_left_alone(tmp_path):
    source = save(vips(gradient(4096, 10), "srgb"), tmp_path / "fits.jpg")
    out_dir = tmp_path / "out"

    result = fix_file(source, out_dir, max_long_edge=4096, max_bytes=source.stat().st_size)

    assert result.output is None and not result.changed
    assert result.steps == ("nothing needed",)
    assert (result.width, result.height, result.bytes) == (4096, 10, source.stat().st_size)
    assert not out_dir.exists()


def test_a_jpeg_over_the_byte_limit_ends_just_under_it(tmp_path):
    # Saved at quality 100, so re-encoding behaves like a first encode: size grows smoothly with quality
    # and the highest quality that fits lands close below the limit. (Re-encoding near a JPEG's own
    # quality can jump: the search then still picks the highest quality that fits, further below.)
    source = save(vips(gradient(800, 600), "srgb"), tmp_path / "heavy.jpg", Q=100)
    limit = source.stat().st_size // 8

    result = fix_file(source, tmp_path / "out", max_long_edge=None, max_bytes=limit)

    assert 0.8 * limit <= result.bytes <= limit
    assert Path(result.output).stat().st_size == result.bytes
    assert (result.width, result.height) == (800, 600)  # quality was enough: no downscale
    assert result.steps[-1].startswith("re-encoded as JPEG at quality ")
    assert result.steps[-1].endswith(f"to fit {limit:,} bytes")


def test_one_byte_over_is_fixed_without_downscaling(tmp_path):
    source = save(vips(gradient(800, 600), "srgb"), tmp_path / "edge.jpg", Q=97)
    limit = source.stat().st_size - 1

    result = fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=limit)

    assert result.bytes <= limit
    assert (result.width, result.height) == (800, 600)


def test_png_over_the_byte_limit_is_recompressed_losslessly(tmp_path):
    array = gradient(600, 400, noise=0.02)
    source = save(vips(array, "srgb"), tmp_path / "loose.png", compression=0)

    result = fix_file(source, tmp_path / "out", max_long_edge=None, max_bytes=source.stat().st_size - 1)

    assert result.bytes <= source.stat().st_size - 1
    out = pyvips.Image.new_from_file(result.output).numpy()
    assert np.array_equal(out, array)  # lossless stays lossless: identical pixels


def test_incompressible_png_is_downscaled_until_it_fits(tmp_path):
    array = (RNG.random((400, 600, 3)) * 255).astype(np.uint8)  # pure noise: recompression cannot help
    source = save(vips(array, "srgb"), tmp_path / "noise.png")
    limit = source.stat().st_size // 2

    result = fix_file(source, tmp_path / "out", max_long_edge=None, max_bytes=limit)

    assert result.bytes <= limit
    assert result.width < 600 and result.height < 400
    assert abs(result.width / result.height - 1.5) < 0.02
    assert any(step.startswith("downscaled 600x400 ->") and "to fit" in step for step in result.steps)


def test_byte_limit_downscale_stops_at_the_minimum_size(tmp_path):
    source = save(vips((RNG.random((400, 600, 3)) * 255).astype(np.uint8), "srgb"), tmp_path / "noise.png")

    with pytest.raises(FixError, match="minimum of 500x350"):
        fix_file(
            source, tmp_path / "out", max_long_edge=None, max_bytes=10_000, min_width=500, min_height=350
        )
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- safety


def test_originals_are_byte_identical_after_a_run(tmp_path):
    sources = [
        save(with_orientation(vips(gradient(4200, 30), "srgb"), 6), tmp_path / "a.jpg"),
        save(vips(gradient(4200, 30, 4), "srgb"), tmp_path / "b.png"),
        save(vips(gradient(4200, 30), "srgb"), tmp_path / "c.webp"),
        save(vips(gradient(4200, 30, depth=16), "rgb16"), tmp_path / "d.tif"),
    ]
    before = {p: (digest(p), p.stat().st_mtime_ns) for p in sources}

    for source in sources:
        fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=50_000)

    assert {p: (digest(p), p.stat().st_mtime_ns) for p in sources} == before


def test_writing_into_the_source_folder_never_replaces_the_source(tmp_path):
    source = save(vips(gradient(4200, 20), "srgb"), tmp_path / "a.jpg")
    original = digest(source)

    result = fix_file(source, tmp_path, max_long_edge=4096, max_bytes=None)

    assert Path(result.output) == tmp_path / "a-1.jpg"
    assert digest(source) == original


def test_name_clashes_never_overwrite(tmp_path):
    one = save(vips(gradient(4200, 20), "srgb"), (tmp_path / "one").mkdir() or tmp_path / "one" / "a.jpg")
    two = save(vips(gradient(4300, 20), "srgb"), (tmp_path / "two").mkdir() or tmp_path / "two" / "a.jpg")
    out = tmp_path / "out"

    first = fix_file(one, out, max_long_edge=4096, max_bytes=None)
    second = fix_file(two, out, max_long_edge=4096, max_bytes=None)
    kept = digest(Path(first.output))
    again = fix_file(one, out, max_long_edge=4096, max_bytes=None)  # a second run: earlier outputs stay

    assert [Path(r.output).name for r in (first, second, again)] == ["a.jpg", "a-1.jpg", "a-2.jpg"]
    assert digest(Path(first.output)) == kept
    assert sorted(p.name for p in out.iterdir()) == ["a-1.jpg", "a-2.jpg", "a.jpg"]  # no temporary files left


def test_output_names_are_fixed_by_input_order():
    paths = ["x/a.jpg", "y/a.jpg", "z/a-1.jpg", "w/A.JPG", "b.png"]
    assert output_names(paths) == ["a.jpg", "a-1.jpg", "a-1-1.jpg", "A-2.JPG", "b.png"]


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_truncated_input_is_an_error_and_writes_nothing(tmp_path, suffix):
    whole = save(vips(gradient(4200, 64), "srgb"), tmp_path / f"whole{suffix}")
    data = whole.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "out"

    with pytest.raises(PreflightError) as caught:
        fix_file(cut, out, max_long_edge=4096, max_bytes=None)

    assert str(cut) in str(caught.value)
    assert not out.exists() or list(out.iterdir()) == []


def test_decompression_bomb_is_refused_before_any_decode(tmp_path):
    # The header declares 3,000 x 3,000; the image data is garbage, so any decode would fail differently.
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bytes(3000, 3000, idat=b"not zlib data"))

    with pytest.raises(FixError, match="9,000,000 pixels, above the decode limit of 1,000,000"):
        fix_file(bomb, tmp_path / "out", max_long_edge=1000, max_bytes=None, max_pixels=1_000_000)


def test_the_default_decode_limit_applies(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bytes(20_000, 20_000, idat=b"not zlib data"))

    with pytest.raises(FixError, match="400,000,000 pixels, above the decode limit of 178,956,970"):
        fix_file(bomb, tmp_path / "out", max_long_edge=4096, max_bytes=None)


def test_animated_gif_is_refused(tmp_path):
    frames = ramp(4100, 4)
    strip = frames.join(frames.flip("horizontal"), "vertical").copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", 4)
    source = save(strip, tmp_path / "anim.gif")
    assert probe(source).frames == 2

    with pytest.raises(FixError, match="2 frames"):
        fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=None)
    assert not (tmp_path / "out").exists()


def test_formats_libvips_cannot_write_are_refused_clearly(tmp_path):
    from PIL import Image

    source = tmp_path / "legacy.bmp"
    Image.new("RGB", (4100, 4)).save(source)

    with pytest.raises(FixError, match="cannot write BMP"):
        fix_file(source, tmp_path / "out", max_long_edge=4096, max_bytes=None)


def test_bad_limits_are_misuse():
    with pytest.raises(ValueError, match="quality"):
        fix_file("x.jpg", "out", max_long_edge=4096, max_bytes=None, quality=0)


# ---------------------------------------------------------------- profiles and validate


def test_output_of_fix_passes_validate_for_the_same_profile(tmp_path):
    profile = Profile(name="tight", downscale_above=4096, max_bytes=150_000, min_width=256, min_height=8)
    source = save(vips(gradient(5000, 300), "srgb"), tmp_path / "big.jpg", Q=95)
    before = {f.code for f in validate_file(source, profile).findings}
    assert {"PF207", "PF401"} <= before

    result = fix(source, profile=profile, out_dir=tmp_path / "out")

    report = validate_file(result.output, profile)
    assert report.ok and not [f for f in report.findings if f.fixable], report.findings


def test_fix_takes_a_profile_by_name(tmp_path):
    source = save(vips(gradient(4100, 10), "srgb"), tmp_path / "wide.png")

    result = fix(source, profile="autoretouch", out_dir=tmp_path / "out")

    assert (result.width, result.height) == (4096, 10)


# ---------------------------------------------------------------- command line


def test_cli_reports_each_file_and_exits_1_when_one_fails(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    save(vips(gradient(4200, 20), "srgb"), tmp_path / "one" / "a.jpg")
    save(vips(gradient(4200, 20), "srgb"), tmp_path / "two" / "a.jpg")
    save(vips(gradient(100, 20), "srgb"), tmp_path / "small.jpg")
    (tmp_path / "broken.jpg").write_bytes((tmp_path / "one" / "a.jpg").read_bytes()[:2000])

    args = [
        "fix",
        "one/a.jpg",
        "two/a.jpg",
        "small.jpg",
        "broken.jpg",
        "--profile",
        "autoretouch",
        "--out",
        "out",
    ]
    result = CliRunner().invoke(main, [*args, "--jobs", "2"])

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "one/a.jpg -> out/a.jpg: downscaled 4200x20 -> 4096x20; encoded as JPEG at quality 92"
    )
    assert lines[1].startswith("two/a.jpg -> out/a-1.jpg: ")
    assert (
        lines[2] == f"small.jpg: nothing needed (100x20, {(tmp_path / 'small.jpg').stat().st_size:,} bytes)"
    )
    assert lines[3].startswith("broken.jpg: error: ") and lines[3].endswith("[fix-error]")


def test_cli_json_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save(vips(gradient(4200, 20), "srgb"), tmp_path / "a.webp")

    result = CliRunner().invoke(
        main,
        ["fix", "a.webp", "--profile", "autoretouch", "--out", "out", "--quality", "70", "--format", "json"],
    )

    assert result.exit_code == 0, result.output
    [record] = json.loads(result.output)
    assert record["output"] == "out/a.webp"
    assert record["steps"] == ["downscaled 4200x20 -> 4096x20", "encoded as WebP at quality 70"]
    assert (record["width"], record["height"]) == (4096, 20)


@pytest.mark.parametrize(
    "args",
    [
        ["--profile", "no-such-profile", "--out", "out"],
        ["--out", "out", "--quality", "101"],
        ["--profile", "haut"],
    ],
)
def test_cli_bad_options_exit_2(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    save(vips(gradient(10, 10), "srgb"), tmp_path / "a.jpg")

    result = CliRunner().invoke(main, ["fix", "a.jpg", *args])

    assert result.exit_code == 2, result.output


def test_public_api():
    import preflight

    assert {"fix", "FixResult", "FixError"} <= set(preflight.__all__)
    assert preflight.fix is fix and callable(preflight.fix)
