"""One hypothesis strategy for the per-format fuzz tests: truncate, flip bytes, or insert garbage."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def mutations(draw: st.DrawFn, data: bytes, *, focus: int | None = None, anywhere_too: bool = False) -> bytes:
    """`data` cut short, with 1-4 bytes flipped, or with 1-16 bytes of garbage inserted.

    With `focus`, flips and insertions land in the first `focus` bytes: the header, where parsers decide.
    With `anywhere_too`, they may also land anywhere (TIFF's IFD0 can sit at the end of the file).
    """
    last = len(data) if focus is None else min(len(data), focus)
    kind = draw(st.sampled_from(["truncate", "flip", "insert"]))
    if kind == "truncate" or not data:
        return data[: draw(st.integers(0, len(data)))]
    if kind == "flip":
        out = bytearray(data)
        where = st.integers(0, max(0, last - 1))
        if anywhere_too:
            where = st.one_of(where, st.integers(0, len(data) - 1))
        for _ in range(draw(st.integers(1, 4))):
            out[draw(where)] ^= draw(st.integers(1, 255))
        return bytes(out)
    pos = draw(
        st.one_of(st.integers(0, last), st.integers(0, len(data))) if anywhere_too else st.integers(0, last)
    )
    return data[:pos] + draw(st.binary(min_size=1, max_size=16)) + data[pos:]
