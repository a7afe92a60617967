"""Collecting files: folders recursed by content in sorted order, hidden folders skipped, globs, missing paths kept."""

from __future__ import annotations

import os

from preflight.paths import collect, looks_like_image
from tests._png import make_png


def tree(tmp_path):
    make_png(tmp_path / "b.png", 2, 2)
    (tmp_path / "a").mkdir()
    make_png(tmp_path / "a" / "z.png", 2, 2)
    make_png(tmp_path / "a" / "no_extension", 2, 2)
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "a" / "fake.png").write_text("text with an image extension")
    (tmp_path / ".git").mkdir()
    make_png(tmp_path / ".git" / "hidden.png", 2, 2)
    (tmp_path / "a" / ".cache").mkdir()
    make_png(tmp_path / "a" / ".cache" / "thumb.png", 2, 2)
    (tmp_path / "logo.svg").write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.7\n")
    return tmp_path


def rel(paths, base):
    return [os.path.relpath(p, base) for p in paths]


def test_folder_is_walked_sorted_by_content_skipping_hidden_folders(tmp_path):
    base = tree(tmp_path)
    # fake.png is text, but its name claims an image: it is reported (PF102), not silently passed over.
    assert rel(collect([base]), base) == ["a/fake.png", "a/no_extension", "a/z.png", "b.png", "logo.svg"]


def test_explicit_files_are_always_checked(tmp_path):
    base = tree(tmp_path)
    named = [base / "a" / "notes.txt", base / ".git" / "hidden.png"]
    assert collect(named) == [str(p) for p in named]


def test_input_order_is_kept_and_duplicates_dropped(tmp_path):
    base = tree(tmp_path)
    out = collect([base / "b.png", base, base / "a" / "z.png"])
    assert rel(out, base) == ["b.png", "a/fake.png", "a/no_extension", "a/z.png", "logo.svg"]


def test_missing_paths_are_passed_through(tmp_path):
    missing = str(tmp_path / "gone.png")
    assert collect([missing]) == [missing]
    pattern = str(tmp_path / "*.nothing")
    assert collect([pattern]) == [pattern]  # reported, so a typo in a glob is not silently a clean run


def test_globs_expand_sorted_and_recursive(tmp_path):
    base = tree(tmp_path)
    assert rel(collect([str(base / "*.png")]), base) == ["b.png"]
    assert rel(collect([str(base / "**" / "*.png")]), base) == ["a/fake.png", "a/z.png", "b.png"]
    assert rel(collect([str(base / "[a]")]), base) == ["a/fake.png", "a/no_extension", "a/z.png"]


def test_relative_folder_gives_relative_paths(tmp_path, monkeypatch):
    tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert collect(["."]) == ["a/fake.png", "a/no_extension", "a/z.png", "b.png", "logo.svg"]
    assert collect(["a/"]) == ["a/fake.png", "a/no_extension", "a/z.png"]


def test_looks_like_image(tmp_path):
    base = tree(tmp_path)
    assert looks_like_image(base / "a" / "no_extension")
    assert looks_like_image(base / "logo.svg")
    assert not looks_like_image(base / "a" / "fake.png")
    assert not looks_like_image(base / "doc.pdf")
    assert not looks_like_image(base / "missing")
