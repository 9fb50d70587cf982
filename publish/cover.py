"""Cover images for exported books: checked, and shrunk when huge.

    image = load_cover("cover.jpg")   # Cover(data=bytes, media_type="image/jpeg", suffix=".jpg", ...)

Only JPEG and PNG are accepted (what every ebook store takes). A cover wider or taller than
``MAX_SIDE`` pixels, or bigger than ``MAX_BYTES`` on disk, is resized and re-encoded; a corrupt,
truncated or absurdly large image stops the export with a message saying what to do.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from publish.book import ExportError

MAX_SIDE = 2560  # stores ask for about 1600 x 2560
MAX_BYTES = 5 * 1024 * 1024
MAX_FILE_BYTES = 200 * 1024 * 1024  # refuse to even read more than this
MAX_PIXELS = 60_000_000  # decoding more (about 180 MB as RGB) is refused, not risked


@dataclass
class Cover:
    data: bytes
    media_type: str
    suffix: str
    width: int
    height: int


def load_cover(path: str | Path) -> Cover:
    """Read and check a cover image; resize it if it is huge."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path).expanduser()
    if path.is_dir():
        raise ExportError(f"cover image {path} is a folder; pass --cover with a JPEG or PNG file")
    if not path.is_file():
        raise ExportError(f"cover image {path} not found; pass --cover with a JPEG or PNG file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ExportError(f"cover image {path} is {size // 2**20} MB; use a JPEG or PNG under "
                          f"{MAX_FILE_BYTES // 2**20} MB (about 1600 x 2560 pixels is what stores want)")
    raw = path.read_bytes()
    try:
        with Image.open(io.BytesIO(raw)) as img:
            fmt = img.format
            if fmt not in ("JPEG", "PNG"):
                raise ExportError(f"cover image {path} is {fmt or 'not a known image format'}; "
                                  "expected a JPEG or PNG file")
            if img.size[0] * img.size[1] > MAX_PIXELS:
                raise ExportError(f"cover image {path} is {img.size[0]} x {img.size[1]} pixels, too large to decode "
                                  "safely; resize it to about 1600 x 2560 pixels")
            width, height = img.size
            if fmt == "JPEG":
                img.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode a huge JPEG at a reduced scale
            img.load()  # decodes fully: a truncated or corrupt file fails here
            if max(width, height) <= MAX_SIDE and size <= MAX_BYTES:
                media = "image/jpeg" if fmt == "JPEG" else "image/png"
                return Cover(raw, media, ".jpg" if fmt == "JPEG" else ".png", width, height)
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            if img.mode in ("RGBA", "LA") or "transparency" in img.info:
                img.save(out, "PNG", optimize=True)
                media, suffix = "image/png", ".png"
            else:
                img.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
                media, suffix = "image/jpeg", ".jpg"
            return Cover(out.getvalue(), media, suffix, img.size[0], img.size[1])
    except Image.DecompressionBombError as e:
        raise ExportError(f"cover image {path} is too large to decode safely ({e}); "
                          "resize it to about 1600 x 2560 pixels") from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ExportError(f"cover image {path} is corrupt or not an image ({e}); "
                          "pass --cover with a valid JPEG or PNG file") from e
