"""`unmask web`: start the local web page."""

from __future__ import annotations

import click

from unmask.web import MAX_UPLOAD_MB


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on (0.0.0.0 lets other machines of the network in).")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--weights", help="Generator weights for the stylegan method (a file or a cached model-zoo name).")
@click.option("--share", is_flag=True, help="Also open a public link through Gradio's share servers (off by default).")
@click.option("--max-upload-mb", default=MAX_UPLOAD_MB, show_default=True, type=click.IntRange(1, 2000),
              help="Largest upload accepted, in megabytes.")
def web(host: str, port: int, weights: str | None, share: bool, max_upload_mb: int) -> None:
    """Start a local web page: upload a masked photo and reference photos, check and paint the
    region to fill, complete, compare and download. Offline; needs `pip install -e ".[web]"`.

    \b
    Example:
      unmask web            # then open http://127.0.0.1:7860/
    """
    from unmask.web import serve

    serve(host=host, port=port, weights=weights, share=share, max_upload_mb=max_upload_mb)
