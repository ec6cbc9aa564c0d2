"""The agent's share poster: a phone-sized PNG with the shop's QR code.

Pure rendering: no database and no request. The caller builds the shop URL, masks the agent's
name and formats the prices; this module only lays them out. The same input gives the same bytes
(no timestamps, no randomness), so a poster can be cached by its input.

Text is Simplified Chinese, drawn with a CJK font found on the machine (Noto Sans CJK from
Debian's fonts-noto-cjk). Without one, Pillow's default font is used: Chinese then shows as boxes,
but the poster is still produced and its QR code still scans.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
from pathlib import Path

import qrcode
import qrcode.constants
import qrcode.exceptions
from PIL import Image, ImageDraw, ImageFont

WIDTH = 750
HEIGHT = 1334
MAX_PRODUCTS = 4
CAPTION = "长按识别二维码 进店选号"
EMPTY_PRODUCTS_TEXT = "更多优惠套餐 进店查看"

_BACKGROUND = "#FFF3EC"
_HEADER = "#E53935"
_HEADER_BAND = "#C62828"
_CARD = "#FFFFFF"
_INK = "#222222"
_MUTED = "#7A7A7A"
_PRICE = "#E53935"
_RULE = "#F0E2DA"
_ELLIPSIS = "…"

# The QR code is drawn module by module at a whole number of pixels per module, so edges stay
# sharp for scanners; this is the largest side it may take, quiet zone included.
_QR_MAX_SIDE = 420
_QR_BORDER_MODULES = 4  # the quiet zone the QR specification asks for

# Where a Debian/Ubuntu, Fedora or Alpine machine keeps Noto Sans CJK; SC face preferred.
_FONT_CANDIDATES = {
    "regular": (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto/NotoSansCJK-Regular.ttc",
    ),
    "bold": (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/truetype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/noto/NotoSansCJK-Bold.ttc",
    ),
}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def render_poster(
    *,
    shop_url: str,
    shop_name: str,
    agent_label: str,
    headline: str,
    products: list[tuple[str, str]],
) -> bytes:
    """Render the share poster and return it as PNG bytes (750×1334, portrait).

    `products` are (name, price text) pairs such as ("畅享卡 100G", "¥29.00/月"); the first four
    are shown. `agent_label` is shown verbatim in the footer (the caller masks it). Text too long
    for its place is cut with "…". Raises ValueError when `shop_url` is empty or too long for a
    QR code.
    """
    if not shop_url:
        raise ValueError("shop_url is empty")
    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    _draw_header(draw, shop_name=shop_name, headline=headline)
    _draw_products(draw, products=products[:MAX_PRODUCTS])
    _draw_qr_card(image, draw, shop_url=shop_url)
    _draw_centered(draw, agent_label, y=1262, font=_font(28), fill=_MUTED, max_width=640)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _draw_header(draw: ImageDraw.ImageDraw, *, shop_name: str, headline: str) -> None:
    draw.rectangle((0, 0, WIDTH, 400), fill=_HEADER)
    draw.rectangle((0, 392, WIDTH, 400), fill=_HEADER_BAND)
    _draw_centered(draw, shop_name, y=96, font=_font(56, bold=True), fill="#FFFFFF", max_width=660)
    lines = _wrap(draw, headline, font=_font(34), max_width=640, max_lines=2)
    first_y = 217 - (len(lines) - 1) * 25  # one line or two, centred under the shop name
    for index, line in enumerate(lines):
        _draw_centered(draw, line, y=first_y + index * 50, font=_font(34), fill="#FFE9E3")


def _draw_products(draw: ImageDraw.ImageDraw, *, products: list[tuple[str, str]]) -> None:
    top, bottom, left, right = 320, 676, 40, WIDTH - 40
    draw.rounded_rectangle((left, top, right, bottom), radius=24, fill=_CARD)
    if not products:
        _draw_centered(draw, EMPTY_PRODUCTS_TEXT, y=(top + bottom) // 2, font=_font(34), fill=_INK)
        return
    row_height = 80
    first_middle = (top + bottom) // 2 - (len(products) - 1) * row_height // 2
    price_font, name_font = _font(34, bold=True), _font(32)
    for index, (name, price) in enumerate(products):
        middle = first_middle + index * row_height
        if index:
            rule_y = middle - row_height // 2
            draw.line((left + 36, rule_y, right - 36, rule_y), fill=_RULE, width=2)
        price = _truncate(draw, price, font=price_font, max_width=260)
        price_width = draw.textlength(price, font=price_font)
        draw.text((right - 36, middle), price, font=price_font, fill=_PRICE, anchor="rm")
        name_width = right - left - 72 - price_width - 32
        name = _truncate(draw, name, font=name_font, max_width=name_width)
        draw.text((left + 36, middle), name, font=name_font, fill=_INK, anchor="lm")


def _draw_qr_card(image: Image.Image, draw: ImageDraw.ImageDraw, *, shop_url: str) -> None:
    top, bottom = 708, 1216
    draw.rounded_rectangle((40, top, WIDTH - 40, bottom), radius=24, fill=_CARD)
    qr_image = _qr_image(shop_url)
    image.paste(
        qr_image, ((WIDTH - qr_image.width) // 2, top + 24 + (_QR_MAX_SIDE - qr_image.height) // 2)
    )
    _draw_centered(draw, CAPTION, y=top + 24 + _QR_MAX_SIDE + 28, font=_font(32), fill=_INK)


def _qr_image(data: str) -> Image.Image:
    """The QR code of `data`, quiet zone included, at most _QR_MAX_SIDE pixels square."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=_QR_BORDER_MODULES
    )
    code.add_data(data)
    try:
        code.make(fit=True)
    except qrcode.exceptions.DataOverflowError as error:
        raise ValueError("shop_url is too long for a QR code") from error
    matrix = code.get_matrix()
    module = max(1, _QR_MAX_SIDE // len(matrix))
    qr = Image.new("1", (len(matrix) * module,) * 2, 1)
    qr_draw = ImageDraw.Draw(qr)
    for row, cells in enumerate(matrix):
        for column, dark in enumerate(cells):
            if dark:
                box = (column * module, row * module)
                qr_draw.rectangle((*box, box[0] + module - 1, box[1] + module - 1), fill=0)
    return qr.convert("RGB")


def _draw_centered(
    draw: ImageDraw.ImageDraw,
    text: str,
    *,
    y: int,
    font: Font,
    fill: str,
    max_width: float = WIDTH - 80,
) -> None:
    text = _truncate(draw, text, font=font, max_width=max_width)
    draw.text((WIDTH // 2, y), text, font=font, fill=fill, anchor="mm")


def _truncate(draw: ImageDraw.ImageDraw, text: str, *, font: Font, max_width: float) -> str:
    """`text` on one line, cut and ended with "…" when wider than `max_width` pixels."""
    text = " ".join(text.split())
    if draw.textlength(text, font=font) <= max_width:
        return text
    while text and draw.textlength(text + _ELLIPSIS, font=font) > max_width:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, *, font: Font, max_width: float, max_lines: int
) -> list[str]:
    """Break `text` into at most `max_lines` lines (per character, as Chinese has no spaces)."""
    text = " ".join(text.split())
    lines: list[str] = []
    while text and len(lines) < max_lines - 1:
        cut = len(text)
        while cut > 1 and draw.textlength(text[:cut], font=font) > max_width:
            cut -= 1
        # Break at a space in the second half of the line rather than strand a lone character.
        space = text.rfind(" ", cut // 2, cut + 1)
        if cut < len(text) and space > 0:
            cut = space
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        lines.append(_truncate(draw, text, font=font, max_width=max_width))
    return lines


@functools.cache
def _font(size: int, *, bold: bool = False) -> Font:
    path = _font_path("bold" if bold else "regular") or _font_path("regular")
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size=size, index=_simplified_chinese_face(path))


@functools.cache
def _font_path(weight: str) -> str | None:
    """A CJK font file: a standard Noto Sans CJK path, else what fontconfig offers for Chinese."""
    for candidate in _FONT_CANDIDATES[weight]:
        if Path(candidate).is_file():
            return candidate
    return _fontconfig_chinese_font() if weight == "regular" else None


def _fontconfig_chinese_font() -> str | None:
    # fc-match always answers (DejaVu when nothing fits), so the answer's languages are checked;
    # fc-list then lists only fonts that really cover Chinese.
    fc_match, fc_list = shutil.which("fc-match"), shutil.which("fc-list")
    if fc_match:
        answer = _run([fc_match, "-f", "%{file}\n%{lang}", "sans:lang=zh"]).split("\n")
        if len(answer) == 2 and "zh-cn" in answer[1].split("|") and Path(answer[0]).is_file():
            return answer[0]
    if fc_list:
        files = sorted(
            line.strip().rstrip(":")
            for line in _run([fc_list, ":lang=zh", "file"]).splitlines()
            if line.strip()
        )
        # Sans before serif and regular before bold; otherwise any font covering Chinese.
        files.sort(key=lambda file: ("Sans" not in Path(file).name, "Bold" in Path(file).name))
        for file in files:
            if Path(file).is_file():
                return file
    return None


def _run(command: list[str]) -> str:
    try:
        # A fixed fontconfig tool found by shutil.which, fixed arguments: nothing untrusted.
        result = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout if result.returncode == 0 else ""


@functools.cache
def _simplified_chinese_face(path: str) -> int:
    """The index of the Simplified Chinese face in a font collection (.ttc), else 0."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    for index in range(16):
        try:
            family, _style = ImageFont.truetype(path, size=12, index=index).getname()
        except OSError:
            break
        if family and family.endswith(" SC") and "Mono" not in family:
            return index
    return 0
