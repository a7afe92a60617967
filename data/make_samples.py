"""Make the quick-start sample images in this folder (run: python data/make_samples.py).

Needs pyvips and Pillow; the HEIC sample also needs pillow-heif (`pip install pillow-heif`), since
libvips from PyPI has no HEVC encoder. The outputs are committed, so users never run this.
Each sample exercises something preflight checks; the table in README.md says what.
"""

from __future__ import annotations

from pathlib import Path

import pyvips
from PIL import Image

HERE = Path(__file__).resolve().parent


def gradient(width: int, height: int, bands: int = 3) -> pyvips.Image:
    """A smooth, cheap-to-compress test picture with a red marker in the top-left corner."""
    x = pyvips.Image.xyz(width, height)
    base = (x[0] * (255 / max(width - 1, 1))).bandjoin([x[1] * (255 / max(height - 1, 1)), x[0] * 0 + 96])
    image = base.cast("uchar").copy(interpretation="srgb")
    marker = pyvips.Image.black(max(width // 8, 1), max(height // 8, 1)).new_from_image([255, 0, 0])
    image = image.insert(marker.cast("uchar"), 0, 0)
    if bands == 4:
        image = image.bandjoin(255)
    return image


def main() -> None:
    gradient(640, 480).jpegsave(str(HERE / "photo.jpg"), Q=85)
    # Orientation 6: stored sideways, shown upright after a 90 degree clockwise turn.
    rotated = gradient(640, 480).rot90().copy()
    rotated.set_type(pyvips.GValue.gint_type, "orientation", 6)
    rotated.jpegsave(str(HERE / "rotated_exif6.jpg"), Q=85)
    gradient(6000, 4000).jpegsave(str(HERE / "large_6000x4000.jpg"), Q=60)  # long edge over 4096
    gradient(320, 180).pngsave(str(HERE / "small_320x180.png"))  # under haut's 256 px minimum
    gray16 = (pyvips.Image.xyz(512, 512)[0] * 128).cast("ushort").copy(interpretation="grey16")
    gray16.pngsave(str(HERE / "xray_gray16.png"))  # the DSIO case: 16-bit greyscale
    gradient(400, 300, bands=4).webpsave(str(HERE / "alpha.webp"), Q=80)
    gradient(400, 300).tiffsave(str(HERE / "scan.tiff"), compression="lzw")
    frames = [gradient(120, 90).flip("horizontal" if i % 2 else "vertical") for i in range(3)]
    anim = pyvips.Image.arrayjoin(frames, across=1).copy()
    anim.set_type(pyvips.GValue.gint_type, "page-height", 90)
    anim.gifsave(str(HERE / "animated.gif"))
    Image.open(HERE / "photo.jpg").resize((160, 120)).save(HERE / "legacy.bmp")
    gradient(400, 300).heifsave(str(HERE / "photo.avif"), compression="av1", Q=50)
    try:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        Image.open(HERE / "photo.jpg").save(HERE / "photo.heic", quality=50)
    except ImportError:
        print("pillow-heif not installed: photo.heic not made")
    whole = (HERE / "photo.jpg").read_bytes()
    (HERE / "truncated.jpg").write_bytes(whole[: len(whole) // 2])  # cut mid-scan: only --deep sees it
    (HERE / "notes.txt.png").write_bytes(b"not an image, despite the extension\n")


if __name__ == "__main__":
    main()
