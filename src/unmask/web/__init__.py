"""`unmask web`: a local web page (Gradio) for people who do not use a terminal.

The page runs offline: it loads no font, stylesheet or script from outside, sends no telemetry and
opens no public link unless asked (`share=True`). Uploads and results live in the app's own
temporary folder, one folder per job, removed when the app stops; Gradio's queue serves several
users one job at a time. Install with `pip install -e ".[web]"`.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from unmask.errors import UnmaskError

MAX_UPLOAD_MB = 50
"""Largest upload accepted, in megabytes (a 12-megapixel PNG is about 25 MB)."""


def usable_weights(weights: str | None) -> list[str]:
    """Generator weights the `stylegan` method can use without a download: `weights` (a file or
    a cached model-zoo name; UnmaskError otherwise) and every generator already in the cache."""
    from unmask.gan import zoo

    cached = [m.name for m in zoo.ZOO.values() if m.resolution and zoo.is_cached(m.name)]
    if weights is None:
        return cached
    if not Path(weights).expanduser().is_file() and weights not in cached:
        raise UnmaskError("not a weights file, nor a generator in the cache (`unmask weights list`; "
                          "`unmask weights download NAME` fetches one)", weights)
    return [weights] + [name for name in cached if name != weights]


def serve(host: str = "127.0.0.1", port: int = 7860, weights: str | None = None, share: bool = False,
          max_upload_mb: int = MAX_UPLOAD_MB, quiet: bool = False) -> None:
    """Start the page at http://host:port/ and serve until interrupted; the app's temporary
    folder is removed on the way out."""
    usable = usable_weights(weights)
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop cleans up like Ctrl-C
    root = Path(tempfile.mkdtemp(prefix="unmask-web-"))
    os.environ["GRADIO_TEMP_DIR"] = str(root)  # Gradio keeps uploads and outputs here
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    try:
        try:
            from unmask.web.page import CSS, build_page, theme
        except ImportError as exc:
            raise UnmaskError(f"the web page needs Gradio: pip install -e \".[web]\" ({exc})") from None
        page = build_page(root, usable)
        page.queue(default_concurrency_limit=1, max_size=32)
        # quiet: Gradio's own hints name its Python arguments (`share=True`), not this command's options
        page.launch(server_name=host, server_port=port, share=share, max_file_size=f"{max_upload_mb}mb",
                    theme=theme(), css=CSS, ssr_mode=False, quiet=True, footer_links=["api"], run_history=False,
                    show_error=False, prevent_thread_lock=True)
        if not quiet:
            print(f"* Running on local URL:  {page.local_url}", flush=True)
            if not share:
                print("* To also open a public link, start it with `unmask web --share`.", flush=True)
        # not a daemon: a thread still inside dlib or OpenCV when Python exits (Ctrl-C during the
        # warm-up) can abort the process; the warm-up ends within seconds
        threading.Thread(target=_warm_up).start()
        page.block_thread()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _warm_up() -> None:
    """Load the pipeline and the face models while the user picks photos, not on the first job."""
    import unmask.methods.warp  # noqa: F401
    import unmask.pipeline  # noqa: F401
    from unmask.face.models import face_detector, landmark_predictor

    face_detector()
    landmark_predictor()


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt
