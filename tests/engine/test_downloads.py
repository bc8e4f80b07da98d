"""The download code against a local HTTP server on 127.0.0.1 (never the internet)."""

import hashlib
import http.server
import threading

import pytest

from engine.downloads import download
from engine.errors import DownloadError
from engine.progress import CancelToken

PAYLOAD = bytes(range(256)) * 2000  # 512 kB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    mode = "good"
    requests: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        Handler.requests.append(self.headers.get("Range"))
        if self.path == "/error":
            self.send_error(503, "busy")
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and self.path != "/norange":
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/cut" and not rng:
            self.wfile.write(body[: len(body) // 3])  # then drop the connection
            self.wfile.flush()
            self.connection.close()
            return
        self.wfile.write(body)


@pytest.fixture()
def server():
    Handler.requests = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_good_download_with_progress(server, tmp_path):
    seen = []
    path = download(f"{server}/w.bin", tmp_path / "w.bin", sha256=SHA, callback=seen.append)
    assert path.read_bytes() == PAYLOAD
    assert seen and seen[-1].step == len(PAYLOAD) == seen[-1].total
    # a second call finds the verified file and does not download again
    before = len(Handler.requests)
    download(f"{server}/w.bin", tmp_path / "w.bin", sha256=SHA)
    assert len(Handler.requests) == before


def test_wrong_checksum_rejected_and_cleaned(server, tmp_path):
    with pytest.raises(DownloadError, match="checksum"):
        download(f"{server}/w.bin", tmp_path / "w.bin", sha256="0" * 64)
    assert not (tmp_path / "w.bin").exists() and not (tmp_path / "w.bin.part").exists()


def test_interrupted_then_resumed(server, tmp_path):
    with pytest.raises(DownloadError, match="resume|ended early|interrupted"):
        download(f"{server}/cut", tmp_path / "w.bin", sha256=SHA)
    part = tmp_path / "w.bin.part"
    assert 0 < part.stat().st_size < len(PAYLOAD)
    have = part.stat().st_size
    download(f"{server}/cut", tmp_path / "w.bin", sha256=SHA)
    assert (tmp_path / "w.bin").read_bytes() == PAYLOAD
    assert Handler.requests[-1] == f"bytes={have}-"  # it asked only for the rest


def test_server_ignoring_range_restarts(server, tmp_path):
    (tmp_path / "w.bin.part").write_bytes(PAYLOAD[:1000])
    download(f"{server}/norange", tmp_path / "w.bin", sha256=SHA)
    assert (tmp_path / "w.bin").read_bytes() == PAYLOAD


def test_server_error_and_offline(server, tmp_path):
    with pytest.raises(DownloadError, match="503"):
        download(f"{server}/error", tmp_path / "w.bin", sha256=SHA)
    with pytest.raises(DownloadError, match="cannot reach"):
        download("http://127.0.0.1:9/none", tmp_path / "w.bin", sha256=SHA, timeout=2)


def test_cancel(server, tmp_path):
    token = CancelToken()
    token.cancel()
    from engine.errors import Cancelled

    with pytest.raises(Cancelled):
        download(f"{server}/w.bin", tmp_path / "w.bin", sha256=SHA, cancel=token)
