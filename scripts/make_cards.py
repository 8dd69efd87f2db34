"""Draw the catalog's card images (static/cards/*.png): a gradient and a motif per skill.

Pure standard library (zlib + struct), so it runs anywhere: python3 scripts/make_cards.py
"""

import math
import struct
import zlib
from pathlib import Path

WIDTH, HEIGHT = 764, 400  # 1.91:1, Messenger's horizontal card ratio
SKILLS = {
    "python": ((48, 105, 152), (255, 212, 59)),
    "git": ((240, 80, 50), (60, 40, 40)),
    "sql": ((0, 117, 143), (180, 230, 240)),
    "web": ((227, 79, 38), (41, 101, 241)),
    "ml": ((94, 53, 177), (0, 200, 170)),
    "shell": ((30, 34, 40), (80, 250, 123)),
    "writing": ((250, 245, 230), (90, 70, 50)),
    "docker": ((29, 99, 237), (230, 240, 255)),
    "stats": ((20, 120, 90), (250, 200, 80)),
    "algo": ((60, 60, 110), (255, 120, 90)),
    # New skills go at the end: a card's motif comes from its position, so the ones above stay the same.
    "javascript": ((247, 223, 30), (50, 51, 48)),
    "react": ((32, 35, 42), (97, 218, 251)),
    "excel": ((16, 124, 65), (200, 240, 210)),
    "java": ((83, 130, 161), (237, 139, 0)),
    "kotlin": ((127, 82, 255), (255, 140, 60)),
    "pandas": ((21, 4, 88), (231, 4, 136)),
    "english": ((1, 33, 105), (200, 16, 46)),
    "design": ((242, 78, 30), (162, 89, 255)),
    "security": ((20, 40, 60), (0, 230, 118)),
    "cloud": ((66, 133, 244), (255, 255, 255)),
    "speaking": ((180, 40, 60), (255, 220, 120)),
    "finance": ((230, 170, 40), (40, 70, 50)),
}


def pixel(x: int, y: int, base, accent, seed: int) -> tuple[int, int, int]:
    t = (x / WIDTH + y / HEIGHT) / 2
    colour = [int(b * (1 - 0.35 * t)) for b in base]
    # A few soft rings: the motif differs per skill through the seed.
    for k in range(3):
        cx = WIDTH * (0.25 + 0.25 * k) + 40 * math.sin(seed + k)
        cy = HEIGHT * (0.5 + 0.2 * math.cos(seed * 1.7 + k))
        r = math.hypot(x - cx, y - cy)
        if abs(r - (60 + 30 * k + seed % 20)) < 7:
            colour = [int(0.4 * c + 0.6 * a) for c, a in zip(colour, accent, strict=True)]
    return tuple(max(0, min(255, c)) for c in colour)


def png(path: Path, base, accent, seed: int) -> None:
    rows = bytearray()
    for y in range(HEIGHT):
        rows.append(0)
        for x in range(WIDTH):
            rows.extend(pixel(x, y, base, accent, seed))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "static" / "cards"
    out.mkdir(parents=True, exist_ok=True)
    for n, (name, (base, accent)) in enumerate(SKILLS.items()):
        png(out / f"{name}.png", base, accent, seed=n * 7 + 3)
        print(out / f"{name}.png")
