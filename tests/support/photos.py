"""Real ID photos of an exact size: a JPEG (noise, as a camera's photo compresses badly) padded
with comment segments, so any decoder opens it."""

from __future__ import annotations

import io

from PIL import Image

_COM, _MAX_SEGMENT = b"\xff\xfe", 4 + 65533  # marker, length, at most 65533 bytes of comment


def jpeg_of(size: int) -> bytes:
    """A well-formed JPEG of exactly ``size`` bytes."""
    out = io.BytesIO()
    Image.effect_noise((64, 64), 64).convert("RGB").save(out, "JPEG", quality=90)
    photo = out.getvalue()
    remaining = size - len(photo)
    if remaining < 4:
        raise ValueError(f"a photo of {size} bytes is too small to pad")
    segments = []
    while remaining:
        total = min(remaining, _MAX_SEGMENT)
        if 0 < remaining - total < 4:
            total -= 4
        data = b"\x00" * (total - 4)
        segments.append(_COM + (total - 2).to_bytes(2, "big") + data)
        remaining -= total
    return photo[:2] + b"".join(segments) + photo[2:]  # after SOI
