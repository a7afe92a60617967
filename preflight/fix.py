"""`fix`: write a corrected copy of an image that a profile's fixable rules flag.

>>> import preflight
>>> result = preflight.fix("big.jpg", profile="autoretouch", out_dir="fixed/")
>>> result.output, result.steps
('fixed/big.jpg', ('downscaled 8000x6000 -> 4096x3072', 'encoded as JPEG at quality 92'))

Two findings are fixable (PF207 downscale, PF401 file-too-large):
- a long edge above the limit: downscaled so the long edge is exactly the limit, aspect ratio kept;
- a file above the byte limit: re-encoded smaller (lossy formats at the highest quality that fits, down to
  QUALITY_FLOOR; lossless ones with maximum compression, staying lossless), then, only if that is not
  enough, downscaled in steps until it fits.
Nothing is ever upscaled. The output is upright (EXIF orientation applied, the tag then says 1), in the
source's format, and keeps its ICC profile, alpha, bit depth, colour mode (CMYK stays CMYK) and, unless
`strip`, its EXIF/XMP metadata. A file that needs nothing is left alone: nothing is written and
`FixResult.output` is None (`--quality`/`--strip` alone do not cause a rewrite).

Safety: the source is only read. The decompression-bomb guard uses the header probe's width x height,
before libvips sees the file. Animated or multi-page files are refused rather than flattened. A truncated
or corrupt file raises FixError (libvips decodes with fail_on="error"); nothing is written for it.
Outputs keep the source's file name in `out_dir`; a name already taken there (an earlier output, or the
source itself) gets the next free `a-1.jpg`, `a-2.jpg`, ...: an existing file is never replaced. For many
files fixed at once, `output_names` assigns names by input order, so two `a.jpg` from different folders
get the same names whichever finishes first on a thread pool.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from preflight.errors import FixError
from preflight.model import ColorMode, FixResult, Format, ImageInfo, Profile
from preflight.probe import probe
from preflight.rules import DEFAULT_PIXEL_LIMIT

QUALITY_FLOOR = 60  # below this a lossy re-encode looks worse than a smaller image at a decent quality
DOWNSCALE_STEP = 0.9  # the most a byte-limit downscale step keeps of the long edge
MAX_DOWNSCALE_STEPS = 40  # 0.9 ** 40 is under 2 %: beyond that the limit cannot be met sensibly

if TYPE_CHECKING:
    import pyvips

    from preflight._imaging import Encoder

Size = tuple[int, int]


def fix(
    source: str | os.PathLike[str],
    *,
    profile: Profile | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    quality: int | None = None,
    strip: bool = False,
    pixel_limit: int = DEFAULT_PIXEL_LIMIT,
    name: str | None = None,
) -> FixResult:
    """Fix one file for a profile (a Profile, a profile name or a profile TOML path) into `out_dir`.

    The limits come from the profile: `downscale_above` (long edge), `max_bytes`, and `min_width` /
    `min_height`, which a byte-limit downscale never goes below. Files declaring more pixels than
    `pixel_limit` or the profile's `max_pixels` are never decoded. Raises FixError, ProbeError or ConfigError.
    """
    if not isinstance(profile, Profile):
        from preflight.profiles import load_profile  # loading reads config files: only when a name is given

        profile = load_profile(profile)
    max_pixels = pixel_limit if profile.max_pixels is None else min(pixel_limit, profile.max_pixels)
    return fix_file(
        source,
        out_dir,
        max_long_edge=profile.downscale_above,
        max_bytes=profile.max_bytes,
        quality=quality,
        strip=strip,
        max_pixels=max_pixels,
        min_width=profile.min_width,
        min_height=profile.min_height,
        name=name,
    )


def fix_file(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    max_long_edge: int | None,
    max_bytes: int | None,
    quality: int | None = None,
    strip: bool = False,
    max_pixels: int = DEFAULT_PIXEL_LIMIT,
    min_width: int | None = None,
    min_height: int | None = None,
    name: str | None = None,
) -> FixResult:
    """Write a copy of `path` into `out_dir` whose long edge is at most `max_long_edge` and whose size is
    at most `max_bytes` (None: no limit), or write nothing when the file already meets both.

    `quality` overrides the starting quality of lossy formats (JPEG 92, WebP 90, AVIF/HEIC 80).
    `strip` drops EXIF, XMP and IPTC (the ICC profile stays, or colours would change).
    `name` is the output's file name (default: the source's); a taken name still gets a `-N` suffix.
    Raises ProbeError when the header cannot be read, FixError when the file is refused or fails to decode.
    """
    _check_limits(max_long_edge, max_bytes, quality, max_pixels)
    path = os.fspath(path)
    info = probe(path)
    if info.pixels > max_pixels:
        raise FixError(
            f"{info.width}x{info.height} is {info.pixels:,} pixels, above the decode limit of {max_pixels:,}; "
            "not decoded (a decompression bomb or simply too large)",
            path=path,
        )
    shown = (info.oriented_width, info.oriented_height)
    over_edge = max_long_edge is not None and info.long_edge > max_long_edge
    over_bytes = max_bytes is not None and info.bytes > max_bytes
    if not (over_edge or over_bytes):
        return FixResult(
            source=path,
            output=None,
            steps=("nothing needed",),
            width=shown[0],
            height=shown[1],
            bytes=info.bytes,
        )
    if info.frames > 1:
        raise FixError(
            f"has {info.frames} frames (animated or multi-page); fix writes still images and will not "
            "silently keep only the first",
            path=path,
        )
    from preflight import _imaging  # libvips loads only when there is something to do

    try:
        encoder = _imaging.encoder_for(info, quality=quality, strip=strip)
    except FixError as exc:
        raise FixError(exc.reason, path=path) from None
    size = fit_long_edge(*shown, max_long_edge) if over_edge else shown
    steps: list[str] = []
    if size != shown:
        steps.append(f"downscaled {_dims(shown)} -> {_dims(size)}")
    if info.orientation != 1:
        steps.append(f"turned upright (orientation {info.orientation} applied, tag now 1)")
    if info.format is Format.PNG and info.color_mode is ColorMode.PALETTE:
        # Resampling makes colours a palette cannot hold; quantising them again would be lossy.
        steps.append("palette image written as 8-bit truecolour")
    elif info.format is Format.PNG and info.bit_depth < 8:
        steps.append(f"{info.bit_depth}-bit samples written as 8-bit (resampling makes in-between levels)")
    with _imaging.translated(path):
        data, size = _encode_to_fit(path, info, encoder, size, max_bytes, (min_width, min_height), steps)
    try:
        output = _write(out_dir, name or os.path.basename(path), data)
    except OSError as exc:
        raise FixError(f"cannot write into {os.fspath(out_dir)}: {exc.strerror or exc}", path=path) from None
    return FixResult(
        source=path, output=output, steps=tuple(steps), width=size[0], height=size[1], bytes=len(data)
    )


def fit_long_edge(width: int, height: int, limit: int | None) -> Size:
    """The size whose long edge is exactly `limit` with the aspect ratio kept (short edge rounded half up,
    at least 1 px), or the size unchanged when it is already within the limit."""
    if limit is None or max(width, height) <= limit:
        return width, height
    if width >= height:
        return limit, max(1, (2 * height * limit + width) // (2 * width))
    return max(1, (2 * width * limit + height) // (2 * height)), limit


def _encode_to_fit(
    path: str,
    info: ImageInfo,
    encoder: Encoder,
    size: Size,
    max_bytes: int | None,
    minimum: tuple[int | None, int | None],
    steps: list[str],
) -> tuple[bytes, Size]:
    from preflight import _imaging

    # The common case streams: decode, resample and encode in one pass, never holding the full image.
    data = encoder.encode(_imaging.render(path, info, *size))
    if max_bytes is None or len(data) <= max_bytes:
        steps.append(f"encoded as {encoder.describe()}")
        return data, size
    # Too big: hold the resampled pixels once and try stronger settings on them.
    image = _imaging.materialise(_imaging.render(path, info, *size))
    if encoder.lossy:
        start = encoder.quality
        assert start is not None  # every lossy encoder has a starting quality
        floor = min(QUALITY_FLOOR, start)
        best, data = _highest_quality_that_fits(encoder, image, max_bytes, floor, start - 1, data)
        if best is not None:
            steps.append(f"re-encoded as {encoder.describe(quality=best)} to fit {max_bytes:,} bytes")
            return data, size
        settings: dict[str, Any] = {"quality": floor}
    else:
        settings = {"smallest": True}
        data = encoder.encode(image, smallest=True)
        if len(data) <= max_bytes:
            steps.append(f"re-encoded as {encoder.describe(smallest=True)} to fit {max_bytes:,} bytes")
            return data, size
    del image
    steps.append(f"{encoder.describe(**settings)} still gives {len(data):,} bytes, over {max_bytes:,}")
    return _downscale_to_fit(path, info, encoder, size, max_bytes, settings, data, minimum, steps)


def _highest_quality_that_fits(
    encoder: Encoder, image: pyvips.Image, max_bytes: int, lo: int, hi: int, data: bytes
) -> tuple[int | None, bytes]:
    """Binary search over quality (file size grows with it): (quality, bytes) of the best fit, or
    (None, the bytes at `lo`) when even the floor is too big. `data` is the encode at `hi + 1`."""
    best: int | None = None
    fitting, smallest = b"", data
    while lo <= hi:
        mid = (lo + hi) // 2
        attempt = encoder.encode(image, quality=mid)
        if len(attempt) <= max_bytes:
            best, fitting, lo = mid, attempt, mid + 1
        else:
            smallest, hi = attempt, mid - 1  # the last miss is at the floor
    return (best, fitting) if best is not None else (None, smallest)


def _downscale_to_fit(
    path: str,
    info: ImageInfo,
    encoder: Encoder,
    size: Size,
    max_bytes: int,
    settings: dict[str, Any],
    data: bytes,
    minimum: tuple[int | None, int | None],
    steps: list[str],
) -> tuple[bytes, Size]:
    from preflight import _imaging

    start = size
    min_w, min_h = (m or 1 for m in minimum)
    for _ in range(MAX_DOWNSCALE_STEPS):
        # Bytes fall roughly with the pixel count: aim straight for the limit, with a little margin.
        scale = min(DOWNSCALE_STEP, math.sqrt(max_bytes / len(data)) * 0.97)
        smaller = fit_long_edge(*size, max(1, int(max(size) * scale)))
        if smaller[0] < min_w or smaller[1] < min_h or smaller == size:
            raise FixError(
                f"cannot fit {max_bytes:,} bytes: {_dims(size)} still gives {len(data):,} bytes, and a smaller "
                f"image would go below the minimum of {min_w}x{min_h}",
                path=path,
            )
        size = smaller
        data = encoder.encode(_imaging.render(path, info, *size), **settings)
        if len(data) <= max_bytes:
            steps.append(f"downscaled {_dims(start)} -> {_dims(size)} to fit {max_bytes:,} bytes")
            return data, size
    raise FixError(f"cannot fit {max_bytes:,} bytes even at {_dims(size)}", path=path)


def share_cores(jobs: int | None) -> None:
    """Split the cores between `jobs` images fixed at once. libvips gives every image its own thread pool
    of one thread per core, so N parallel fixes would run N x cores threads that only contend; with the
    cores shared out, two jobs on two cores scale instead of thrashing. (The setting is process-wide in
    libvips, so the runners that start parallel fixes call this, not `fix` itself.) A VIPS_CONCURRENCY set
    in the environment is the user's choice and is left alone."""
    if os.environ.get("VIPS_CONCURRENCY"):
        return
    import pyvips

    from preflight.pipeline import default_jobs

    cores = os.cpu_count() or 1
    pyvips.concurrency_set(max(1, cores // max(1, jobs or default_jobs())))


def output_names(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Distinct output file names for files fixed into one folder, fixed by input order (not by which
    finishes first on a pool): the first `a.jpg` keeps its name, the next becomes `a-1.jpg`, ..."""
    taken: set[str] = set()
    names = []
    for path in paths:
        base = os.path.basename(os.fspath(path))
        stem, suffix = os.path.splitext(base)
        candidate, n = base, 0
        while candidate.casefold() in taken:  # casefold: some file systems ignore case
            n += 1
            candidate = f"{stem}-{n}{suffix}"
        taken.add(candidate.casefold())
        names.append(candidate)
    return names


def _write(out_dir: str | os.PathLike[str], name: str, data: bytes) -> str:
    from preflight._outfile import write_new

    return os.fspath(write_new(out_dir, name, data))


def _dims(size: Size) -> str:
    return f"{size[0]}x{size[1]}"


def _check_limits(
    max_long_edge: int | None, max_bytes: int | None, quality: int | None, max_pixels: int
) -> None:
    if max_long_edge is not None and max_long_edge < 1:
        raise ValueError(f"max_long_edge must be at least 1, not {max_long_edge}")
    if max_bytes is not None and max_bytes < 1:
        raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
    if quality is not None and not 1 <= quality <= 100:
        raise ValueError(f"quality must be between 1 and 100, not {quality}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be at least 1, not {max_pixels}")


__all__ = ["DOWNSCALE_STEP", "QUALITY_FLOOR", "fit_long_edge", "fix", "fix_file", "output_names"]
