"""Pictures made on the spot for the catalogue and picture tests (Pillow), and a tiny local
picture server (127.0.0.1 only) for the download tests."""
from __future__ import annotations

import io
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

GPS_TAG, ORIENTATION_TAG, MAKE_TAG = 0x8825, 0x0112, 0x010F


def picture(width: int = 600, height: int = 400, fmt: str = "JPEG", color=(200, 40, 40), *, exif: bool = False,
            orientation: int | None = None, alpha: bool = False) -> bytes:
    """A picture of ``fmt``; with ``exif``, a camera maker and a GPS block; ``orientation`` 6: turn it."""
    image = Image.new("RGBA" if alpha else "RGB", (width, height), color + ((128,) if alpha else ()))
    image.paste((10, 10, 10) + ((255,) if alpha else ()), (0, 0, width // 4, height // 4))  # a mark top-left
    buffer = io.BytesIO()
    params = {}
    if exif or orientation:
        data = Image.Exif()
        if exif:
            data[MAKE_TAG] = "SpyCam 3000"
            data[GPS_TAG] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
        if orientation:
            data[ORIENTATION_TAG] = orientation
        params["exif"] = data.tobytes()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes, float]] = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        status, body, delay = self.routes.get(self.path, (404, b"not found", 0.0))
        if delay:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body) + 1_000_000))
            self.end_headers()
            try:
                for _ in range(int(delay * 10)):  # a trickle: one byte every 0.1 s
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            return
        self.send_response(status)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@contextmanager
def picture_server(routes: dict[str, tuple[int, bytes, float]]):
    """Serve ``path -> (status, body, trickle seconds)`` on 127.0.0.1; yields the base URL."""
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
