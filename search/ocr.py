"""Tesseract OCR of one page image: image bytes in, text and word boxes out. Pure: no database.

Tesseract runs as a subprocess (``tesseract - - tsv``), not through ``pytesseract`` or
``tesserocr``: the subprocess is what lets a per-page timeout kill a stuck recognition for sure
(a C call inside the worker cannot be interrupted), it keeps Tesseract's memory out of the
worker, and it needs no Python dependency: ``pytesseract`` is itself a wrapper around this same
command, and ``tesserocr`` builds against libtesseract headers at install time.
``OMP_THREAD_LIMIT=1``: several OCR processes on one machine otherwise fight over OpenMP threads
and go many times slower (ICIJ datashare #2234); we parallelise by pages instead.

The TSV output gives one row per word with its box in the input image's pixels; we keep
``[word, x, y, w, h]`` per word (level 5 rows with text) and the text rebuilt line by line.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import shutil
import subprocess
from dataclasses import dataclass

ENGINE = "tesseract"


class OcrFailure(Exception):
    """OCR could not read the page; the message is the reason staff see."""


@dataclass(frozen=True)
class OcrResult:
    text: str
    words: list[list]
    version: str


def tesseract_path() -> str | None:
    return shutil.which("tesseract")


@functools.cache
def tesseract_version() -> str:
    path = tesseract_path()
    if path is None:
        return ""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split()[-1] if first else ""


def ocr_image(image: bytes, *, timeout: float, language: str = "eng") -> OcrResult:
    """Recognise the words of one page image (JPEG/PNG bytes). OcrFailure on a timeout, an image
    Tesseract cannot read, or a missing binary."""
    path = tesseract_path()
    if path is None:
        raise OcrFailure("Tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng).")
    if not image:
        raise OcrFailure("The page image is empty.")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(
            [path, "stdin", "stdout", "-l", language, "--psm", "3", "tsv"],
            input=image,
            capture_output=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise OcrFailure(
            f"OCR took longer than {timeout:g} s (OCR_TIMEOUT_SECONDS) and was stopped."
        ) from None
    except OSError as exc:
        raise OcrFailure(f"Tesseract could not be started ({exc.strerror}).") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1][:200] if detail else f"exit status {done.returncode}"
        raise OcrFailure(f"Tesseract could not read the page image ({reason}).")
    text, words = parse_tsv(done.stdout.decode("utf-8", "replace"))
    return OcrResult(text=text, words=words, version=tesseract_version())


def parse_tsv(tsv: str) -> tuple[str, list[list]]:
    """Tesseract's TSV to (text, [[word, x, y, w, h], ...]): lines joined with newlines, blocks
    and paragraphs separated by a blank line."""
    words: list[list] = []
    lines: list[str] = []
    current: list[str] = []
    line_key = None
    block_key = None
    reader = csv.reader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    next(reader, None)  # header
    for row in reader:
        if len(row) < 12 or row[0] != "5":
            continue
        word = row[11].strip()
        if not word:
            continue
        try:
            x, y, w, h = (int(v) for v in row[6:10])
        except ValueError:
            continue
        key = (row[2], row[3], row[4])  # block, paragraph, line
        if key != line_key:
            if current:
                lines.append(" ".join(current))
            if block_key is not None and key[:2] != block_key:
                lines.append("")
            current, line_key, block_key = [], key, key[:2]
        current.append(word)
        words.append([word, x, y, w, h])
    if current:
        lines.append(" ".join(current))
    return "\n".join(lines), words
