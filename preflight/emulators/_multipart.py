"""multipart/form-data parsing that keeps each part's own headers.

Starlette's form parser drops the Content-Type of parts without a filename, and DSIO's ``imageInfo``
part is such a part whose type matters; so the emulators parse with python-multipart directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


@dataclass(slots=True)
class Part:
    name: str
    filename: str | None
    content_type: str | None  # media type without parameters, lowercased; None when the part declares none
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a multipart/form-data Content-Type header, or None for any other type."""
    media, params = parse_options_header(content_type)
    if media.lower() != b"multipart/form-data":
        return None
    return params.get(b"boundary") or None


def parse(body: bytes, boundary: bytes, *, max_parts: int) -> list[Part]:
    """The parts of a complete multipart body, in order. Raises MultipartError on malformed input."""
    parts: list[Part] = []
    headers: dict[str, str] = {}
    name_buf: list[bytes] = []
    value_buf: list[bytes] = []
    data_buf: list[bytes] = []
    ended = False

    def on_part_begin() -> None:
        headers.clear()
        data_buf.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        name_buf.append(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        value_buf.append(data[start:end])

    def on_header_end() -> None:
        headers[b"".join(name_buf).decode("latin-1").lower()] = b"".join(value_buf).decode("latin-1")
        name_buf.clear()
        value_buf.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        data_buf.append(data[start:end])

    def on_part_end() -> None:
        if len(parts) >= max_parts:
            raise MultipartError(f"more than {max_parts} parts")
        disposition, params = parse_options_header(headers.get("content-disposition"))
        if disposition.lower() != b"form-data" or b"name" not in params:
            raise MultipartError("a part has no Content-Disposition: form-data; name=...")
        filename = params.get(b"filename")
        declared = headers.get("content-type")
        parts.append(
            Part(
                name=params[b"name"].decode("utf-8", "replace"),
                filename=filename.decode("utf-8", "replace") if filename is not None else None,
                content_type=parse_options_header(declared)[0].decode("latin-1").lower()
                if declared
                else None,
                data=b"".join(data_buf),
                headers=dict(headers),
            )
        )

    def on_end() -> None:
        nonlocal ended
        ended = True

    parser = MultipartParser(
        boundary,
        callbacks={
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise MultipartError(f"malformed multipart body: {exc}") from None
    if not ended:
        raise MultipartError("multipart body ends before its closing boundary")
    return parts
