"""The page of `unmask web`, built with Gradio: inputs, the editable region, progress and cancel,
the result beside the original, downloads, the example, and the `complete` API endpoint.

Imported only by `unmask.web.serve`, after it has pointed Gradio's upload folder at the app's own
temporary folder and turned its telemetry off.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from unmask.errors import UnmaskError
from unmask.images import write_image
from unmask.web.jobs import (REGION_COLOUR, JobResult, face_marks, new_folder, page_message, preview_region,
                             region_from_layers, region_layer, run_job, user_message)

BASE_METHODS = ["warp", "opencv-telea", "opencv-ns"]
MARK_EYES, MARK_BOX = "the two eyes", "a box around the face"
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
EDITOR_HEIGHT = 680
"""CSS pixels of the region editor: a portrait photo opens fitted at about 600 px high."""
CSS = """
#unmask-warning { background: #fef3c7; border: 2px solid #d97706; border-radius: 8px; padding: 6px 14px; }
#unmask-warning, #unmask-warning * { color: #7c2d12; font-size: 1.05rem; }
"""
"""The page's own style: the warning box above the result stands out."""

INTRO = """# unmask
Complete the part of a face hidden by a face mask from an unmasked photo of the same person.
1. Upload the **masked photo** and one or more **reference photos** (or try the example).
2. Check the **region to fill** (pink): paint with the brush to add, use the eraser to remove.
3. Press **Complete**; download the result, the step panel and the record below.
"""


class _Cancelled(Exception):
    """The user pressed Cancel; raised from the progress callback to stop the job's thread."""


def theme() -> gr.themes.Base:
    """Gradio's default look with the system's own fonts: the page loads nothing from outside."""
    return gr.themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS)


def build_page(root: Path, weights: list[str]) -> gr.Blocks:
    """The whole page. `root`: the app's temporary folder (Gradio's upload folder, where each job
    writes into a folder of its own); `weights`: generator weights usable by `stylegan` (an empty
    list hides the method)."""
    methods = BASE_METHODS + (["stylegan"] if weights else [])
    cancelled: set[str] = set()

    def own(path: str | None) -> Path | None:
        """An upload of this app as a Path; any other path is refused, never opened."""
        if path is None:
            return None
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(root.resolve()):
            raise UnmaskError("not a file uploaded to this page", Path(path).name)
        return resolved

    with gr.Blocks(title="unmask", analytics_enabled=False) as page:
        found = gr.State(None)  # the pipeline's Scene of the masked photo (face and region found), or None
        pending = gr.State(None)  # the editor's value with the region layer, shown after the photo
        problem = gr.State("")  # why no region was found on the masked photo ("" when one was)
        gr.Markdown(INTRO)
        status = gr.Textbox(label="Messages", interactive=False, lines=1, max_lines=6, elem_id="unmask-status")
        with gr.Row():
            with gr.Column(scale=2):
                masked = gr.File(label="Masked photo", file_count="single", elem_id="unmask-masked")
                references = gr.File(label="Reference photos (unmasked, same person)", file_count="multiple",
                                     elem_id="unmask-references")
                example = gr.Button("Try the example (no photo of yours needed)", elem_id="unmask-example")
                method = gr.Dropdown(methods, value="warp", label="Method", elem_id="unmask-method")
                with gr.Accordion("stylegan options", open=True, visible=False) as stylegan_box:
                    weight = gr.Dropdown(weights, value=weights[0] if weights else None, label="Generator weights")
                    steps = gr.Number(label="Projection steps (empty: the default)", precision=0, value=None)
                    space = gr.Radio(["w", "w+"], value="w", label="Latent space")
                    prefill = gr.Dropdown(["none", "warp", "opencv-telea"], value="none", label="Prefill the region with")
                    pti_steps = gr.Number(label="Pivotal tuning steps (0 = none)", precision=0, value=0)
                    seed = gr.Number(label="Seed", precision=0, value=0)
                    expression = gr.File(label="Expression face (optional)", file_count="single")
                face = gr.Number(label="Which face, when the photo shows several (0 = largest)", precision=0,
                                 value=0, minimum=0, elem_id="unmask-face")
                with gr.Accordion("Mark the face yourself (when it is not found)", open=False):
                    mark_kind = gr.Radio([MARK_EYES, MARK_BOX], value=MARK_EYES, label="Mark")
                    marker = gr.Image(label="Click the two eyes, or two opposite corners of the face", type="numpy",
                                      interactive=False, format="jpeg")
                    marks = gr.Textbox(label="X,Y,X,Y in photo pixels", elem_id="unmask-marks")
                    clear = gr.Button("Clear the marks", size="sm")
            with gr.Column(scale=3):
                # a tiny starting canvas: the editor centres a layer on the larger of it and the photo
                editor = gr.ImageEditor(
                    label="Region to fill (paint to add, erase to remove)", type="numpy", image_mode="RGBA",
                    format="png", sources=(), transforms=(), layers=False, canvas_size=(16, 16),
                    brush=gr.Brush(colors=[_css(REGION_COLOUR)], color_mode="fixed"), height=EDITOR_HEIGHT,
                    elem_id="unmask-editor")
                with gr.Row():
                    run = gr.Button("Complete", variant="primary", elem_id="unmask-run")
                    cancel = gr.Button("Cancel", variant="stop", elem_id="unmask-cancel")
        warning = gr.Markdown(visible=False, elem_id="unmask-warning")
        with gr.Row():
            slider = gr.ImageSlider(label="Before / after", type="filepath", elem_id="unmask-slider")
            result = gr.Image(label="Result (full size)", type="filepath", interactive=False, elem_id="unmask-result",
                              buttons=["download", "fullscreen"])
        summary = gr.Markdown(elem_id="unmask-summary")
        panel = gr.Image(label="Steps", type="filepath", interactive=False, elem_id="unmask-panel",
                         buttons=["download", "fullscreen"])
        downloads = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="unmask-downloads")

        def show_region(masked_path: str | None, index: float | None, kind: str, mark_text: str | None):
            if masked_path is None:
                return None, None, None, None, "", ""
            keep = gr.skip(), None, gr.skip(), gr.skip()  # the editor, as the user left it
            if len((mark_text or "").split(",")) == 2:  # one point of two clicked
                return keep + ("now click the second point", gr.skip())
            try:
                marked = face_marks(mark_text or "", kind == MARK_EYES)
            except UnmaskError as exc:
                return keep + (f"error: {user_message(exc)}", gr.skip())
            try:
                preview = preview_region(own(masked_path), None if marked else _index(index), **marked)
            except UnmaskError as exc:
                return None, None, None, None, f"error: {page_message(exc)}", page_message(exc)
            background = write_image(new_folder(root) / "photo.jpg", preview.photo)  # shown, never read back
            value = {"background": str(background), "layers": [region_layer(preview.region, preview.photo.shape[:2])],
                     "composite": None}
            note = ("using the face you marked. " if marked else
                    f"{preview.faces} faces found; using face {_index(index) or 0}. " if preview.faces > 1 else "")
            message = f"error: {preview.message}" if preview.message else "region found: check it, then press Complete"
            # the photo first, then its layer: a layer that arrives with the photo is placed on the
            # editor's previous canvas (off by half the difference in size)
            return {**value, "layers": []}, value, preview.scene, str(background), note + message, preview.message

        gr.on([masked.change, face.change, mark_kind.change, marks.change], show_region,
              [masked, face, mark_kind, marks], [editor, pending, found, marker, status, problem],
              trigger_mode="always_last",
              api_visibility="private").then(lambda value: gr.skip() if value is None else value, pending, editor,
                                             api_visibility="private")
        example.click(lambda: _example(root), None, [masked, references], api_visibility="private")
        method.change(lambda m: gr.Accordion(visible=m == "stylegan"), method, stylegan_box, api_visibility="private")
        marker.select(_add_mark, [marks], marks, api_visibility="private")
        clear.click(lambda: "", None, marks, api_visibility="private")

        def complete_on_page(masked_path, reference_paths, method_name, weight_name, steps_n, space_name,
                             prefill_name, pti_n, seed_n, expression_path, index, kind, mark_text, edited,
                             found_scene, why_not_found, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
            session = request.session_hash or ""
            stages = [0]

            def report(message: str) -> None:
                if session in cancelled:
                    raise _Cancelled
                stages[0] += 1
                progress((stages[0], None), desc=message, unit="stages")

            try:
                if masked_path is None:
                    raise UnmaskError("upload the masked photo first")
                target = own(masked_path)
                arguments: dict[str, Any] = face_marks(mark_text or "", kind == MARK_EYES)
                arguments["face"] = None if arguments else _index(index)  # a marked face needs no index
                if method_name == "stylegan":
                    arguments.update(weights=weight_name, space=space_name, prefill=prefill_name,
                                     pti_steps=int(pti_n or 0), seed=int(seed_n or 0),
                                     expression=own(expression_path))
                    if steps_n:
                        arguments["steps"] = int(steps_n)
                layers = (edited or {}).get("layers") or []
                region = None
                if layers:
                    shape = found_scene.photo.pixels.shape[:2] if found_scene is not None else _shape(layers)
                    region = region_from_layers(layers, shape)
                if (region is None or not region.any()) and why_not_found:
                    raise UnmaskError(why_not_found)  # what the upload said: no face, no face mask, ...
                if region is not None and not region.any():
                    raise UnmaskError("the region to fill is empty: paint it on the photo")
                job = run_job(new_folder(root), target, [own(p) for p in reference_paths or []], method_name,
                              region=region, found=found_scene, progress=report, **arguments)
            except UnmaskError as exc:
                return (f"error: {page_message(exc)}",) + (None,) * 5 + (gr.Markdown(visible=False),)
            except _Cancelled:
                return ("cancelled",) + (None,) * 5 + (gr.Markdown(visible=False),)
            return ("done in %.1f s" % job.seconds, (str(target), str(job.result)), str(job.result), str(job.panel),
                    _summary(job), [str(p) for p in (job.result, job.panel, job.record, job.region) if p is not None],
                    gr.Markdown(_warning(job), visible=bool(job.warnings)))

        def begin(request: gr.Request):
            """Forget an earlier Cancel, before the job is queued (a Cancel pressed while the job
            waits in the queue must still stop it), and the last job's warning."""
            cancelled.discard(request.session_hash or "")
            return "working...", gr.Markdown(visible=False)

        running = run.click(begin, None, [status, warning], queue=False, api_visibility="private").then(
            complete_on_page,
            [masked, references, method, weight, steps, space, prefill, pti_steps, seed, expression, face, mark_kind,
             marks, editor, found, problem],
            [status, slider, result, panel, summary, downloads, warning], api_visibility="private",
            concurrency_id="jobs")

        def stop(request: gr.Request) -> str:
            cancelled.add(request.session_hash or "")
            return "cancelled"

        cancel.click(stop, None, status, cancels=[running], queue=False, api_visibility="private")
        _api(root, own)
    return page


def _api(root: Path, own) -> None:
    """The documented endpoint `complete`: masked photo, reference photos, method -> result image
    (full size) and the JSON record; errors come back as the command line's one-line message."""
    with gr.Row(visible=False):
        masked = gr.File(label="masked photo", file_count="single")
        references = gr.File(label="reference photos", file_count="multiple")
        method = gr.Textbox(label="method", value="warp")
        image = gr.Image(label="result", type="filepath", format="png")
        record = gr.JSON(label="record")
        trigger = gr.Button()

    def complete(masked_path: str, reference_paths: list[str], method_name: str) -> tuple[str, dict]:
        """Complete the masked photo from the reference photos with `method` (warp, opencv-telea,
        opencv-ns, stylegan); returns the full-size result and the JSON record."""
        import json

        try:
            if masked_path is None:
                raise UnmaskError("no masked photo given")
            job = run_job(new_folder(root), own(masked_path), [own(p) for p in reference_paths or []],
                          method_name or "warp")
        except UnmaskError as exc:
            raise gr.Error(user_message(exc), print_exception=False) from None
        return str(job.result), json.loads(job.record.read_text())

    trigger.click(complete, [masked, references, method], [image, record], api_name="complete",
                  concurrency_id="jobs")


def _index(value: float | None) -> int | None:
    return None if value is None else int(value)


def _shape(layers: list[np.ndarray]) -> tuple[int, int]:
    return tuple(np.asarray(layers[0]).shape[:2])  # type: ignore[return-value]


def _css(rgba: tuple[int, int, int, int]) -> str:
    return f"rgba({rgba[0]}, {rgba[1]}, {rgba[2]}, {rgba[3] / 255:.2f})"


def _add_mark(text: str, event: gr.SelectData) -> str:
    """Append the clicked point (x, y photo pixels) to the marks; a third click starts again."""
    values = [v for v in (text or "").replace(" ", "").split(",") if v]
    if len(values) >= 4:
        values = []
    x, y = event.index
    return ",".join(values + [str(int(x)), str(int(y))])


@functools.cache
def _example_files(root: Path) -> tuple[str, str]:
    """The demo's masked photo and reference (made from scikit-image's astronaut), written once."""
    from unmask.demo import make_inputs

    inputs = make_inputs()
    folder = new_folder(root)
    return (str(write_image(folder / "example-masked.png", inputs.target)),
            str(write_image(folder / "example-reference.png", inputs.reference)))


def _example(root: Path) -> tuple[str, list[str]]:
    masked, reference = _example_files(root)
    return masked, [reference]


def _summary(job: JobResult) -> str:
    verdict = "same person" if job.same_person else "possibly another person"
    return (f"**Identity distance** {job.identity_distance:.3f} ({verdict}; from the part of the face above "
            "the mask, which tells people apart less well than a whole face)")


def _warning(job: JobResult) -> str:
    """The job's warnings for the box above the result (Markdown; empty when there are none)."""
    return "\n\n".join(f"**⚠ Warning:** {w}" for w in job.warnings)
