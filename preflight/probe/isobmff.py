"""HEIC and AVIF: HEIF images in the ISO base media file format (ISO/IEC 14496-12, 23008-12, MIAF, AV1-ISOBMFF).

The top-level boxes are walked by their headers (ftyp, meta, moov; mdat is only stepped over). The meta box
is read in one piece and parsed in memory: pitm names the primary item, iinf its type, iref links grid tiles
(dimg) and alpha planes (auxl), iprp/ipco + ipma attach properties (ispe size, pixi depth, colr ICC, av1C/hvcC,
auxC, irot/imir), iloc locates the Exif item. Image sequences (avis/msf1) count the samples of their first
visual track (moov/trak/mdia/minf/stbl/stsz); still images report one frame.

Orientation: irot and imir are mandatory display transforms in HEIF; they are applied in ipma order and folded
into the EXIF code (1-8) that describes the same transform, so ImageInfo's oriented size is what a viewer shows.
When the primary item has neither, the Exif item's orientation is reported (imagesize and several writers put
the rotation there only; libheif, and so libvips, ignore it).

Size: ispe is the coded size; a clean-aperture crop (clap) among the transforms gives the size shown, as libheif
applies it (encoders pad HEVC to whole coding blocks and crop with clap: libheif makes a 64x48 image a 64x64 ispe
plus a clap). width/height are that cropped size before rotation, like every other format's stored size.

Frames: the samples of an image sequence's track; otherwise the top-level images, as libheif (and so libvips'
n-pages and pillow-heif) count them: image items that are neither hidden nor thumbnails, auxiliary planes or tiles.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from fractions import Fraction

from preflight.errors import MalformedError, TruncatedError, UnsupportedFormatError
from preflight.model import ColorMode, Format, ImageInfo
from preflight.probe import exif
from preflight.probe._source import Source

# Brands of HEIF image files (23008-12 Annex B, MIAF, AV1-ISOBMFF). A generic mif1/msf1 file whose
# pictures are not HEVC or AV1 (JPEG or uncompressed items) is refused in probe() by its item type.
BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"avif", b"avis", b"avio"}
    | {b"mif1", b"mif2", b"msf1", b"miaf"}
)
CODED = {b"hvc1": Format.HEIC, b"av01": Format.AVIF}  # item (and sample entry) types we can name
# Item types that are images (23008-12, MIAF, 23001-17): what libheif counts as a top-level image.
IMAGE_ITEMS = frozenset(
    {b"hvc1", b"av01", b"grid", b"iden", b"iovl", b"jpeg", b"j2k1", b"vvc1", b"avc1", b"unci"}
)
SAMPLE_ENTRIES = {b"hvc1": Format.HEIC, b"hev1": Format.HEIC, b"av01": Format.AVIF}
ALPHA_URNS = (b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha", b"urn:mpeg:hevc:2015:auxid:1")
MAX_DEPTH = 8  # box nesting deeper than this is not a real image
MAX_EXIF = 64 * 1024

# EXIF orientation after one more display transform, from the orientation so far (index 0 unused).
# irot turns anticlockwise by angle*90 degrees; imir axis 0 mirrors left-right, axis 1 top-bottom.
_AFTER_ROTATION = ((), (1, 8, 3, 6), (2, 5, 4, 7), (3, 6, 1, 8), (4, 7, 2, 5), (5, 4, 7, 2), (6, 1, 8, 3), (7, 2, 5, 4), (8, 3, 6, 1))  # fmt: skip
_AFTER_MIRROR = ((), (2, 4), (1, 3), (4, 2), (3, 1), (6, 8), (5, 7), (8, 6), (7, 5))


def accepts(head: bytes) -> bool:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    (size,) = struct.unpack_from(">I", head)
    end = min(size, len(head)) if size >= 16 else 16
    # major brand at 8, minor version at 12, compatible brands from 16
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, end - 3, 4)]
    return any(brand in BRANDS for brand in brands)


Reader = Callable[[int, int], bytes]


def _boxes(read: Reader, start: int, end: int, *, limit: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in [start, end); `limit` is where data really ends."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", read(offset, 8))
        header = 8
        if size == 1:  # 64-bit largesize follows the type
            (size,) = struct.unpack(">Q", read(offset + 8, 8))
            header = 16
        elif size == 0:  # the box runs to the end of its container
            size = end - offset
        if size < header:
            raise MalformedError(f"box {_name(kind)} at byte {offset} declares {size} bytes")
        box_end = offset + size
        if box_end > end:
            if box_end > limit:
                raise TruncatedError(
                    f"box {_name(kind)} at byte {offset} ends at {box_end}, data ends at {limit}"
                )
            raise MalformedError(f"box {_name(kind)} at byte {offset} overruns its container")
        yield kind, offset + header, box_end
        offset = box_end


def probe(src: Source) -> ImageInfo:
    src.format = "HEIF"

    def read(offset: int, n: int) -> bytes:
        src.step()
        return src.read(offset, n)

    meta = moov = None
    for kind, start, end in _boxes(read, 0, src.size, limit=src.size):
        if kind == b"meta" and meta is None:
            meta = (start, end)
        elif kind == b"moov" and moov is None:
            moov = (start, end)
    if meta is None and moov is None:
        raise MalformedError("no meta or moov box")

    frames = _sequence_frames(read, *moov) if moov else None
    if meta is None:
        assert moov is not None
        return _sequence_only(src, read, moov, frames or 1)
    start, end = meta
    items = _Meta(src, src.read(start, end - start), start)
    return items.info(frames)


class _Meta:
    """The parsed meta box: items, references and properties."""

    def __init__(self, src: Source, data: bytes, base: int):
        self.src = src
        self.data = data
        self.base = base  # file offset of data[0], for idat-relative locations
        self.primary: int | None = None
        self.types: dict[int, bytes] = {}
        self.hidden: set[int] = set()  # infe flag 1: not meant to be shown on its own (tiles, planes)
        self.refs: dict[bytes, dict[int, list[int]]] = {}  # kind -> from item -> to items
        self.properties: list[tuple[bytes, bytes]] = []  # ipco children in order (ipma is 1-based)
        self.associations: dict[int, list[int]] = {}
        self.locations: dict[int, tuple[int, int, int]] = {}  # item -> (method, offset, length)
        self.idat: tuple[int, int] | None = None

        if len(data) < 4:
            raise MalformedError("meta box too short")
        for kind, start, end in self._children(4, len(data)):  # meta is a FullBox
            body = data[start:end]
            if kind == b"pitm":
                self.primary = _item_id(body, 4, wide=bool(body[:1]) and body[0] >= 1)[0]
            elif kind == b"iinf":
                self._iinf(start, end)
            elif kind == b"iref":
                self._iref(start, end)
            elif kind == b"iprp":
                self._iprp(start, end)
            elif kind == b"iloc":
                self._iloc(body)
            elif kind == b"idat":
                self.idat = (start, end)

    def _children(self, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
        return _boxes(self._read, start, end, limit=len(self.data))

    def _read(self, offset: int, n: int) -> bytes:
        self.src.step()
        if offset + n > len(self.data):
            raise MalformedError(f"box header at byte {self.base + offset} runs past the meta box")
        return self.data[offset : offset + n]

    def _iinf(self, start: int, end: int) -> None:
        version = self.data[start] if start < end else 0
        first = start + (6 if version == 0 else 8)  # FullBox header, then a 16- or 32-bit entry count
        for kind, s, e in self._children(first, end):
            body = self.data[s:e]
            if kind != b"infe" or len(body) < 4 or body[0] < 2:
                continue  # infe versions 0 and 1 carry no item type (not used by HEIF images)
            item, pos = _item_id(body, 4, wide=body[0] >= 3)
            item_type = _slice(body, pos + 2, 4)  # after item_protection_index
            self.types.setdefault(item, item_type)
            if body[3] & 1:
                self.hidden.add(item)

    def _iref(self, start: int, end: int) -> None:
        wide = start < end and self.data[start] >= 1
        for kind, s, e in self._children(start + 4, end):
            body = self.data[s:e]
            source, pos = _item_id(body, 0, wide=wide)
            (count,) = struct.unpack(">H", _slice(body, pos, 2))
            targets = [_item_id(body, pos + 2 + i * (4 if wide else 2), wide=wide)[0] for i in range(count)]
            self.refs.setdefault(kind, {}).setdefault(source, []).extend(targets)

    def _iprp(self, start: int, end: int) -> None:
        for kind, s, e in self._children(start, end):
            if kind == b"ipco":
                self.properties = [(k, self.data[ps:pe]) for k, ps, pe in self._children(s, e)]
            elif kind == b"ipma":
                self._ipma(self.data[s:e])

    def _ipma(self, body: bytes) -> None:
        version, flags = body[0] if body else 0, int.from_bytes(_slice(body, 1, 3), "big")
        (count,) = struct.unpack(">I", _slice(body, 4, 4))
        pos = 8
        for _ in range(count):
            self.src.step()
            item, pos = _item_id(body, pos, wide=version >= 1)
            n = _slice(body, pos, 1)[0]
            pos += 1
            indices = []
            for _ in range(n):
                if flags & 1:  # 16-bit entries: essential bit + 15-bit index
                    (value,) = struct.unpack(">H", _slice(body, pos, 2))
                    indices.append(value & 0x7FFF)
                    pos += 2
                else:
                    indices.append(_slice(body, pos, 1)[0] & 0x7F)
                    pos += 1
            self.associations.setdefault(item, []).extend(indices)

    def _iloc(self, body: bytes) -> None:
        version = _slice(body, 0, 1)[0]
        sizes = _slice(body, 4, 2)
        offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
        base_size, index_size = sizes[1] >> 4, (sizes[1] & 15 if version in (1, 2) else 0)
        if version < 2:
            (count,) = struct.unpack(">H", _slice(body, 6, 2))
            pos = 8
        else:
            (count,) = struct.unpack(">I", _slice(body, 6, 4))
            pos = 10
        for _ in range(count):
            self.src.step()
            item, pos = _item_id(body, pos, wide=version == 2)
            method = 0
            if version in (1, 2):
                method = struct.unpack(">H", _slice(body, pos, 2))[0] & 15
                pos += 2
            pos += 2  # data_reference_index
            base = _uint(body, pos, base_size)
            pos += base_size
            (extents,) = struct.unpack(">H", _slice(body, pos, 2))
            pos += 2
            for i in range(extents):
                pos += index_size
                offset = _uint(body, pos, offset_size)
                length = _uint(body, pos + offset_size, length_size)
                pos += offset_size + length_size
                if i == 0:  # the Exif item is one extent in practice; later extents are not needed
                    self.locations.setdefault(item, (method, base + offset, length))

    def props(self, item: int) -> list[tuple[bytes, bytes]]:
        """The properties associated with an item, in ipma order (index 0 means none)."""
        out = []
        for index in self.associations.get(item, ()):
            if index == 0:
                continue
            if index > len(self.properties):
                raise MalformedError(f"item {item} refers to property {index} of {len(self.properties)}")
            out.append(self.properties[index - 1])
        return out

    def _coded(self, item: int) -> tuple[int, bytes]:
        """Follow derivations (grid, iden, iovl) down to the first coded image item."""
        for _ in range(MAX_DEPTH):
            item_type = self.types.get(item, b"")
            if item_type in CODED:
                return item, item_type
            tiles = self.refs.get(b"dimg", {}).get(item)
            if not tiles:
                return item, item_type
            item = tiles[0]
        raise MalformedError("image derivations nest too deeply")

    def info(self, frames: int | None) -> ImageInfo:
        if self.primary is None:
            raise MalformedError("no primary item (pitm box)")
        primary = self.primary
        if primary not in self.types:
            raise MalformedError(f"primary item {primary} has no item info entry")
        coded, coded_type = self._coded(primary)
        fmt = CODED.get(coded_type)
        if fmt is None:
            kind = coded_type.decode("latin-1").strip() or "unknown"
            raise UnsupportedFormatError(f"HEIF image coded as {kind!r} is not HEIC or AVIF", format="HEIF")
        self.src.format = str(fmt)

        own = self.props(primary)
        chain = own + (self.props(coded) if coded != primary else [])
        width = height = 0
        for kind, body in own:
            if kind == b"ispe":
                width, height = struct.unpack(">II", _slice(body, 4, 8))
                break
        if not width or not height:
            raise MalformedError(f"primary item {primary} has no valid ispe size ({width}x{height})")
        width, height = _cropped(own, width, height)

        depth, mono = _depth(chain)
        has_alpha = self._has_alpha({primary, coded})
        icc = any(kind == b"colr" and body[:4] in (b"prof", b"rICC") for kind, body in chain)
        orientation = _orientation(own)
        if orientation is None:
            orientation = self._exif_orientation()
        mode = (
            (ColorMode.GRAY_ALPHA if has_alpha else ColorMode.GRAY)
            if mono
            else (ColorMode.RGBA if has_alpha else ColorMode.RGB)
        )
        return ImageInfo(
            format=fmt,
            width=width,
            height=height,
            bit_depth=depth,
            channels=(1 if mono else 3) + has_alpha,
            color_mode=mode,
            has_alpha=has_alpha,
            orientation=orientation,
            frames=frames or self._top_level_images(),
            icc=icc,
            bytes=self.src.size,
            codec=self.types[primary].decode("latin-1"),
        )

    def _top_level_images(self) -> int:
        """Image items shown on their own: not hidden (bar the primary), not a thumbnail, auxiliary image or
        derivation input (libheif's top-level images)."""
        parts = {item for kind in (b"thmb", b"auxl") for item in self.refs.get(kind, {})}
        parts.update(tile for tiles in self.refs.get(b"dimg", {}).values() for tile in tiles)
        shown = {
            item
            for item, kind in self.types.items()
            if kind in IMAGE_ITEMS and item not in parts and item not in self.hidden
        }
        return max(1, len(shown | {self.primary}))

    def _has_alpha(self, targets: set[int]) -> bool:
        """An auxiliary image (auxl reference) whose auxC type is an alpha plane."""
        for aux, to in self.refs.get(b"auxl", {}).items():
            if targets.isdisjoint(to):
                continue
            for kind, body in self.props(aux):
                if kind == b"auxC" and body[4:].split(b"\x00", 1)[0] in ALPHA_URNS:
                    return True
        return False

    def _exif_orientation(self) -> int:
        exif_items = [item for item, kind in self.types.items() if kind == b"Exif"]
        for item in exif_items:
            where = self.locations.get(item)
            if where is None:
                continue
            method, offset, length = where
            if method == 1 and self.idat is not None:  # offset inside the idat box
                start, end = self.idat
                data = self.data[start + offset : min(end, start + offset + length)]
            elif method == 0:
                data = self.src.read(offset, min(length, MAX_EXIF))
            else:
                continue
            # The Exif item starts with a 32-bit offset to the TIFF header (23008-12 Annex A.2.1).
            if len(data) < 4:
                continue
            (skip,) = struct.unpack_from(">I", data)
            return exif.orientation(data[4 + skip :])
        return 1


def _depth(props: list[tuple[bytes, bytes]]) -> tuple[int, bool]:
    """Bits per sample and whether the image is monochrome: pixi first, else the codec configuration."""
    depth, mono = 0, False
    for kind, body in props:
        if kind == b"pixi" and len(body) >= 6 and not depth:
            mono = body[4] == 1  # num_channels
            depth = body[5]
        elif kind == b"av1C" and len(body) >= 3:
            # byte 2: seq_tier_0, high_bitdepth, twelve_bit, monochrome, subsampling x/y, position
            high, twelve = body[2] & 0x40, body[2] & 0x20
            mono = mono or bool(body[2] & 0x10)
            depth = depth or (12 if high and twelve else 10 if high else 8)
        elif kind == b"hvcC" and len(body) >= 19:
            mono = mono or (body[16] & 3) == 0  # chroma_format_idc 0 is 4:0:0
            depth = depth or 8 + (body[17] & 7)
    return depth or 8, mono


def _cropped(props: list[tuple[bytes, bytes]], width: int, height: int) -> tuple[int, int]:
    """The ispe size after any clap crop, in the stored (unrotated) frame.

    Transforms apply in ipma order, so a clap after a quarter turn measures the turned image. The crop is
    rounded as libheif does: the edges of a clean aperture centred at (width - 1) / 2 + horizOff, rounded down.
    A clap that does not fit the image is ignored (libheif refuses to decode it; the coded size stands)."""
    turned = False
    for kind, body in props:
        if kind == b"irot" and body:
            turned ^= bool(body[0] & 1)
        elif kind == b"clap" and len(body) >= 32:
            wn, wd, hn, hd, xn, xd, yn, yd = struct.unpack(">IIIIiIiI", body[:32])
            if not (wd and hd and xd and yd):
                continue
            shown_w, shown_h = (height, width) if turned else (width, height)
            crop_w = _aperture(shown_w, Fraction(wn, wd), Fraction(xn, xd))
            crop_h = _aperture(shown_h, Fraction(hn, hd), Fraction(yn, yd))
            if crop_w is None or crop_h is None:
                continue
            width, height = (crop_h, crop_w) if turned else (crop_w, crop_h)
    return width, height


def _aperture(size: int, extent: Fraction, offset: Fraction) -> int | None:
    """Pixels kept along one axis by a clean aperture of `extent` centred `offset` from the middle."""
    centre = offset + Fraction(size - 1, 2)
    first = math.floor(centre - (extent - 1) / 2)
    last = math.floor(centre + (extent - 1) / 2)
    if first < 0 or last >= size or last < first:
        return None
    return last - first + 1


def _orientation(props: list[tuple[bytes, bytes]]) -> int | None:
    """irot/imir folded into an EXIF orientation, in association order; None when there are none."""
    orientation = None
    for kind, body in props:
        if kind == b"irot" and body:
            orientation = _AFTER_ROTATION[orientation or 1][body[0] & 3]
        elif kind == b"imir" and body:
            orientation = _AFTER_MIRROR[orientation or 1][body[0] & 1]
    return orientation


def _sequence_frames(read: Reader, start: int, end: int) -> int | None:
    """Samples in the first visual track's stsz, or None when there is none."""
    stbl = _stbl(read, start, end)
    if stbl is None:
        return None
    for kind, s, e in _boxes(read, *stbl, limit=stbl[1]):
        if kind in (b"stsz", b"stz2") and e - s >= 12:
            (count,) = struct.unpack(">I", read(s + 8, 4))
            return max(count, 1)
    return None


def _stbl(read: Reader, start: int, end: int) -> tuple[int, int] | None:
    """The sample table of the first track whose handler is 'pict' or 'vide'."""
    for kind, s, e in _boxes(read, start, end, limit=end):
        if kind != b"trak":
            continue
        for mkind, ms, me in _boxes(read, s, e, limit=e):
            if mkind != b"mdia":
                continue
            handler, minf = None, None
            for ckind, cs, ce in _boxes(read, ms, me, limit=me):
                if ckind == b"hdlr" and ce - cs >= 12:
                    handler = read(cs + 8, 4)
                elif ckind == b"minf":
                    minf = (cs, ce)
            if handler not in (b"pict", b"vide") or minf is None:
                continue
            for skind, ss, se in _boxes(read, *minf, limit=minf[1]):
                if skind == b"stbl":
                    return ss, se
    return None


def _sequence_only(src: Source, read: Reader, moov: tuple[int, int], frames: int) -> ImageInfo:
    """A sequence without a still image (no meta box): size and codec from the first sample entry."""
    stbl = _stbl(read, *moov)
    if stbl is None:
        raise MalformedError("no meta box and no visual track")
    for kind, s, e in _boxes(read, *stbl, limit=stbl[1]):
        if kind == b"stsd" and e - s >= 16:
            # stsd: FullBox, entry count, then the first VisualSampleEntry (14496-12 section 12.1.3)
            entry_size, entry_type = struct.unpack(">I4s", read(s + 8, 8))
            fmt = SAMPLE_ENTRIES.get(entry_type)
            if fmt is None:
                raise UnsupportedFormatError(
                    f"image sequence coded as {_name(entry_type)} is not HEIC or AVIF"
                )
            src.format = str(fmt)
            width, height = struct.unpack(">HH", read(s + 8 + 32, 4))
            if not width or not height:
                raise MalformedError(f"sample entry size {width}x{height}")
            # codec configuration boxes follow the 86-byte VisualSampleEntry header
            entry_end = min(s + 8 + entry_size, e)
            config = [
                (k, read(cs, min(ce - cs, 32)))
                for k, cs, ce in _boxes(read, s + 8 + 86, entry_end, limit=entry_end)
            ]
            depth, mono = _depth(config)
            return ImageInfo(
                format=fmt,
                width=width,
                height=height,
                bit_depth=depth,
                channels=1 if mono else 3,
                color_mode=ColorMode.GRAY if mono else ColorMode.RGB,
                frames=frames,
                bytes=src.size,
                codec=entry_type.decode("latin-1"),
            )
    raise MalformedError("visual track without a sample description")


def _item_id(body: bytes, pos: int, *, wide: bool = False) -> tuple[int, int]:
    """A 16- or 32-bit item ID at pos, and the position after it."""
    if wide:
        return struct.unpack(">I", _slice(body, pos, 4))[0], pos + 4
    return struct.unpack(">H", _slice(body, pos, 2))[0], pos + 2


def _uint(body: bytes, pos: int, size: int) -> int:
    if size not in (0, 4, 8):
        raise MalformedError(f"iloc field size {size} is not 0, 4 or 8")
    return int.from_bytes(_slice(body, pos, size), "big") if size else 0


def _slice(body: bytes, pos: int, n: int) -> bytes:
    """Exactly n bytes of a box payload, or MalformedError (the box is shorter than its fields)."""
    if pos + n > len(body):
        raise MalformedError(f"box payload of {len(body)} bytes is too short (field at {pos})")
    return body[pos : pos + n]


def _name(kind: bytes) -> str:
    return repr(kind.decode("latin-1"))
