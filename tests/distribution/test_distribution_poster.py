"""The agent's share poster: a PNG whose QR code scans to the shop link.

A sample goes to test-artifacts/screenshots/agent_poster.png (relative to the repo root).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from haoka.distribution import poster

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SHOP_URL = "https://haoka.example.cn/s/A7K2Q9"
PRODUCTS = [
    ("大王卡 全国通用 100G", "¥29.00/月"),
    ("畅享卡 长期套餐 50G+100分钟", "¥19.00/月"),
    ("学生卡 校园专属 80G", "¥39.00/月"),
    ("亲情卡 主副卡共享", "¥59.00/月"),
]


def render(**overrides) -> bytes:
    arguments = {
        "shop_url": SHOP_URL,
        "shop_name": "小王的号卡店",
        "agent_label": "推荐人：王**",
        "headline": "0月租起 · 大流量 · 包邮到家 · 在线激活",
        "products": PRODUCTS,
    }
    arguments.update(overrides)
    return poster.render_poster(**arguments)


def open_png(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def decoded_qr_texts(image: Image.Image) -> list[str]:
    barcodes = zxingcpp.read_barcodes(image)
    assert all(barcode.format == zxingcpp.BarcodeFormat.QRCode for barcode in barcodes)
    return [barcode.text for barcode in barcodes]


def colours(image: Image.Image, box: tuple[int, int, int, int]) -> set[tuple[int, int, int]]:
    return {colour for _count, colour in image.crop(box).getcolors(maxcolors=1 << 20)}


def test_the_poster_is_a_portrait_png_of_phone_size():
    image = open_png(render())

    assert image.size == (poster.WIDTH, poster.HEIGHT) == (750, 1334)


def test_the_qr_code_on_the_poster_decodes_to_the_shop_url():
    png = render()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "agent_poster.png").write_bytes(png)

    assert decoded_qr_texts(open_png(png)) == [SHOP_URL]


def test_a_shop_url_with_a_query_string_decodes_exactly():
    url = (
        "https://haoka.example.cn/s/A7K2Q9?ref=agent-42&utm_source=poster&q=%E5%A4%A7%E7%8E%8B#top"
    )

    assert decoded_qr_texts(open_png(render(shop_url=url))) == [url]


def test_the_qr_code_still_scans_when_the_poster_is_scaled_down_like_a_chat_preview():
    image = open_png(render()).resize((375, 667), Image.Resampling.LANCZOS)

    assert decoded_qr_texts(image) == [SHOP_URL]


def test_a_poster_without_products_still_renders_and_scans():
    image = open_png(render(products=[]))

    assert image.size == (750, 1334)
    assert decoded_qr_texts(image) == [SHOP_URL]


def test_only_the_first_four_products_are_shown():
    five = [*PRODUCTS, ("第五张卡", "¥99.00/月")]

    assert render(products=five) == render(products=PRODUCTS)


def test_the_same_input_gives_the_same_bytes():
    assert render() == render()


def test_a_long_shop_name_is_cut_instead_of_running_off_the_header():
    image = open_png(render(shop_name="超级无敌长名字的号卡专营旗舰店" * 4))
    header_colour = Image.new("RGB", (1, 1), "#E53935").getpixel((0, 0))

    assert colours(image, (0, 40, 40, 300)) == {header_colour}
    assert colours(image, (712, 40, 750, 300)) == {header_colour}
    assert decoded_qr_texts(image) == [SHOP_URL]


def test_a_long_product_name_is_cut_and_leaves_room_for_the_price():
    price = "¥29.00/月"
    image = open_png(render(products=[("全国通用超大流量不限速套餐" * 5, price)]))
    white = (255, 255, 255)
    price_font = poster._font(34, bold=True)
    price_width = ImageDraw.Draw(image).textlength(price, font=price_font)
    price_left = int(poster.WIDTH - 40 - 36 - price_width)
    row = (468, 528)  # the single row sits in the middle of the product card

    assert colours(image, (40, row[0], 76, row[1])) == {white}
    assert colours(image, (674, row[0], 710, row[1])) == {white}
    assert colours(image, (price_left - 28, row[0], price_left - 2, row[1])) == {white}
    assert colours(image, (price_left, row[0], 674, row[1])) != {white}


def test_truncated_text_ends_with_an_ellipsis_and_fits_its_width():
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    font = poster._font(32)

    cut = poster._truncate(draw, "很长的套餐名字" * 20, font=font, max_width=300)

    assert cut.endswith("…")
    assert draw.textlength(cut, font=font) <= 300
    assert poster._truncate(draw, "短名", font=font, max_width=300) == "短名"


def test_an_empty_shop_url_is_refused():
    with pytest.raises(ValueError, match="empty"):
        render(shop_url="")


def test_the_simplified_chinese_face_of_noto_sans_cjk_is_used_when_installed():
    if poster._font_path("regular") is None:
        pytest.skip("no CJK font installed (make browser installs fonts-noto-cjk)")
    font = poster._font(32)

    assert isinstance(font, ImageFont.FreeTypeFont)
    if "NotoSansCJK" in font.path:
        assert font.getname()[0] == "Noto Sans CJK SC"


def test_without_a_chinese_font_the_poster_still_renders_and_scans(monkeypatch):
    poster._font.cache_clear()
    monkeypatch.setattr(poster, "_font_path", lambda weight: None)
    try:
        image = open_png(render())
    finally:
        poster._font.cache_clear()

    assert image.size == (750, 1334)
    assert decoded_qr_texts(image) == [SHOP_URL]
