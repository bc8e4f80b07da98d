"""Draw the FaceBridge icon (a bridge arc joining a blurred and a sharp half-face) in every size the
three desktop platforms need: PNGs 16-1024, a Windows .ico and a macOS .icns."""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)


def draw(size: int = 1024) -> Image.Image:
    s = size
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((s * 0.04, s * 0.04, s * 0.96, s * 0.96), radius=s * 0.2, fill=(28, 40, 56, 255))
    face = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    f = ImageDraw.Draw(face)
    f.ellipse((s * 0.3, s * 0.12, s * 0.7, s * 0.64), fill=(236, 200, 170, 255))
    for x in (0.4, 0.6):
        f.ellipse((s * (x - 0.03), s * 0.32, s * (x + 0.03), s * 0.37), fill=(40, 40, 50, 255))
    f.arc((s * 0.42, s * 0.4, s * 0.58, s * 0.54), 20, 160, fill=(150, 60, 60, 255), width=max(1, s // 60))
    left = face.crop((0, 0, s // 2, s)).filter(ImageFilter.GaussianBlur(s / 60))
    face.paste(left, (0, 0))
    img.alpha_composite(face)
    d = ImageDraw.Draw(img)
    d.arc((s * 0.1, s * 0.7, s * 0.9, s * 1.3), 200, 340, fill=(90, 170, 255, 255), width=max(2, s // 28))
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    big = draw(1024)
    for n in SIZES:
        big.resize((n, n), Image.LANCZOS).save(OUT / f"facebridge-{n}.png")
    big.save(OUT / "facebridge.ico", sizes=[(n, n) for n in (16, 24, 32, 48, 64, 128, 256)])
    big.save(OUT / "facebridge.icns")


if __name__ == "__main__":
    main()
