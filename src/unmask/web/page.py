"""The page of `unmask web`, built with Gradio: inputs, the editable region, progress and cancel,
the result beside the original, downloads, the example, and the `complete` API endpoint. A photo
with several faces shows them numbered, with a person chosen per masked face and photos per person
(up to `MAX_PEOPLE` people, `MAX_FACES` faces chosen by hand).

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
from unmask.web.jobs import (REGION_COLOUR, JobResult, face_marks, new_folder, numbered_faces, page_message,
                             preview_region, region_from_layers, region_layer, run_job, user_message)

BASE_METHODS = ["warp", "opencv-telea", "opencv-ns"]
MAX_PEOPLE = 4
MAX_FACES = 8
"""Person slots on the page, and masked faces given a person by hand (the others: the closest)."""
REFERENCE_LABELS = ("Reference photos (unmasked, same person)", "Reference photos of this person (unmasked)")
"""The first person's photos (the only ones on a page for one person), and the others'."""
AUTO, NOBODY = "auto", "nobody"
"""A face's choice besides a person (whose value is the person's slot number as text)."""
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

WHO_IS_WHO = """**Who is who.** The faces are numbered on the photo. Each masked face is completed from the
photos of the person chosen here; *the closest person* picks the person it looks most like."""
"""Above the face choosers."""

INTRO = """# unmask
Complete the part of a face hidden by a face mask from an unmasked photo of the same person.
1. Upload the **masked photo** and one or more **reference photos** (or try the example). A group photo:
   add each person and their photos; the faces are numbered on the photo.
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
        found = gr.State(None)  # the pipeline's Scene of the masked photo (faces and regions found), or None
        pending = gr.State(None)  # the editor's value with the region layer, shown after the photo
        problem = gr.State("")  # why no region was found on the masked photo ("" when one was)
        faces_found = gr.State(0)  # how many faces the masked photo shows
        chosen_faces = gr.State([])  # the scene's face index of each face chooser in use
        shown = gr.State(1)  # person slots shown
        gr.Markdown(INTRO)
        status = gr.Textbox(label="Messages", interactive=False, lines=1, max_lines=6, elem_id="unmask-status")
        with gr.Row():
            with gr.Column(scale=2):
                masked = gr.File(label="Masked photo", file_count="single", elem_id="unmask-masked")
                names, photos, slots = [], [], []
                for j in range(MAX_PEOPLE):
                    with gr.Group(visible=j == 0) as slot:
                        names.append(gr.Textbox(value=f"Person {j + 1}", label="Name", max_lines=1, visible=j > 0,
                                                elem_id=f"unmask-name-{j}"))
                        photos.append(gr.File(label=REFERENCE_LABELS[j > 0], file_count="multiple",
                                              elem_id="unmask-references" if j == 0 else f"unmask-references-{j}"))
                    slots.append(slot)
                add_person = gr.Button("Add a person (for a photo of several people)", size="sm",
                                       elem_id="unmask-add-person")
                with gr.Group(visible=False, elem_id="unmask-who") as who_box:
                    gr.Markdown(WHO_IS_WHO)
                    choosers = [gr.Dropdown(_choices(["Person 1"]), value=AUTO, label=f"Face {i}", visible=False,
                                            elem_id=f"unmask-face-{i}") for i in range(MAX_FACES)]
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

        view = [who_box, names[0], *slots, *choosers]  # what the group controls show

        def group_view(people_n: int, faces_n: int, face_ids: list[int], given_names: list[str],
                       reset: bool) -> dict:
            """The group controls: shown for a photo of several faces or when a person was added;
            a chooser per masked face (back to the closest person when `reset`), the people's
            names as its choices."""
            group = people_n > 1 or faces_n > 1
            choices = _choices([n or f"Person {j + 1}" for j, n in enumerate(given_names[:people_n])])
            updates: dict = {who_box: gr.Group(visible=group and bool(face_ids)), names[0]: gr.Textbox(visible=group)}
            updates.update({slot: gr.Group(visible=j < people_n) for j, slot in enumerate(slots)})
            for i, chooser in enumerate(choosers):
                used = i < len(face_ids)
                updates[chooser] = gr.Dropdown(choices=choices, visible=used, label=f"Face {face_ids[i]}" if used else None,
                                               **({"value": AUTO} if reset else {}))
            return updates

        def show_region(masked_path: str | None, kind: str, mark_text: str | None, people_n: int, *given_names: str):
            cleared = {editor: None, pending: None, found: None, marker: None, problem: "", faces_found: 0,
                       chosen_faces: []}
            if masked_path is None:
                return {**cleared, status: "", **group_view(people_n, 0, [], list(given_names), True)}
            keep = {pending: None, status: ""}  # the editor, as the user left it
            if len((mark_text or "").split(",")) == 2:  # one point of two clicked
                return {**keep, status: "now click the second point"}
            try:
                marked = face_marks(mark_text or "", kind == MARK_EYES)
            except UnmaskError as exc:
                return {**keep, status: f"error: {user_message(exc)}"}
            try:
                preview = preview_region(own(masked_path), **marked)
            except UnmaskError as exc:
                return {**cleared, status: f"error: {page_message(exc)}", problem: page_message(exc),
                        **group_view(people_n, 0, [], list(given_names), True)}
            several = preview.scene is not None and len(preview.scene.faces) > 1
            shown_photo = numbered_faces(preview.photo, preview.scene) if several else preview.photo
            background = write_image(new_folder(root) / "photo.jpg", shown_photo)  # shown, never read back
            value = {"background": str(background), "layers": [region_layer(preview.region, preview.photo.shape[:2])],
                     "composite": None}
            face_ids = preview.masked()[:MAX_FACES]
            if several and not preview.message:
                people_n = max(people_n, min(len(face_ids), MAX_PEOPLE))
                message = (f"{len(preview.scene.faces)} faces found, {len(preview.masked())} with a face mask (numbered "
                           "on the photo, the pink region is filled): give each person's photos, check who is who, "
                           "then press Complete")
            else:
                message = f"error: {preview.message}" if preview.message else "region found: check it, then press Complete"
            note = "using the face you marked. " if marked else ""
            # the photo first, then its layer: a layer that arrives with the photo is placed on the
            # editor's previous canvas (off by half the difference in size)
            return {editor: {**value, "layers": []}, pending: value, found: preview.scene, marker: str(background),
                    status: note + message, problem: preview.message, faces_found: preview.faces,
                    chosen_faces: face_ids, shown: people_n,
                    **group_view(people_n, preview.faces, face_ids, list(given_names), True)}

        gr.on([masked.change, mark_kind.change, marks.change], show_region,
              [masked, mark_kind, marks, shown, *names],
              [editor, pending, found, marker, status, problem, faces_found, chosen_faces, shown, *view],
              trigger_mode="always_last",
              api_visibility="private").then(lambda value: gr.skip() if value is None else value, pending, editor,
                                             api_visibility="private")

        def more_people(people_n: int, faces_n: int, face_ids: list[int], *given_names: str) -> dict:
            people_n = min(people_n + 1, MAX_PEOPLE)
            return {shown: people_n, **group_view(people_n, faces_n, face_ids, list(given_names), False)}

        add_person.click(more_people, [shown, faces_found, chosen_faces, *names], [shown, *view], queue=False,
                         api_visibility="private")
        gr.on([n.change for n in names],
              lambda people_n, faces_n, face_ids, *given: group_view(people_n, faces_n, face_ids, list(given), False),
              [shown, faces_found, chosen_faces, *names], view, queue=False, trigger_mode="always_last",
              api_visibility="private")
        example.click(lambda: _example(root), None, [masked, photos[0]], api_visibility="private")
        method.change(lambda m: gr.Accordion(visible=m == "stylegan"), method, stylegan_box, api_visibility="private")
        marker.select(_add_mark, [marks], marks, api_visibility="private")
        clear.click(lambda: "", None, marks, api_visibility="private")
        job_inputs = {masked, method, weight, steps, space, prefill, pti_steps, seed, expression, mark_kind, marks,
                      editor, found, problem, faces_found, chosen_faces, shown, *names, *photos, *choosers}

        def complete_on_page(given: dict, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
            session = request.session_hash or ""
            stages = [0]

            def report(message: str) -> None:
                if session in cancelled:
                    raise _Cancelled
                stages[0] += 1
                progress((stages[0], None), desc=message, unit="stages")

            try:
                if given[masked] is None:
                    raise UnmaskError("upload the masked photo first")
                target = own(given[masked])
                arguments: dict[str, Any] = face_marks(given[marks] or "", given[mark_kind] == MARK_EYES)
                if given[method] == "stylegan":
                    arguments.update(weights=given[weight], space=given[space], prefill=given[prefill],
                                     pti_steps=int(given[pti_steps] or 0), seed=int(given[seed] or 0),
                                     expression=own(given[expression]))
                    if given[steps]:
                        arguments["steps"] = int(given[steps])
                layers = (given[editor] or {}).get("layers") or []
                scene = given[found]
                region = None
                if layers:
                    region = region_from_layers(layers, scene.photo.pixels.shape[:2] if scene is not None else _shape(layers))
                if (region is None or not region.any()) and given[problem]:
                    raise UnmaskError(given[problem])  # what the upload said: no face, no face mask, ...
                if region is not None and not region.any():
                    raise UnmaskError("the region to fill is empty: paint it on the photo")
                if given[shown] > 1 or given[faces_found] > 1:
                    people, assign = _people_and_faces(given, names[:given[shown]], photos, choosers, given[chosen_faces],
                                                       own)
                    job = run_job(new_folder(root), target, [], given[method], region=region, found=scene,
                                  progress=report, people=people, assign=assign, **arguments)
                else:
                    job = run_job(new_folder(root), target, [own(p) for p in given[photos[0]] or []], given[method],
                                  region=region, found=scene, progress=report, **arguments)
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
            complete_on_page, job_inputs,
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


def _choices(people: list[str]) -> list[tuple[str, str]]:
    """A face chooser's choices: (shown, value) for the closest person, nobody, and each person
    (value: the person's slot number)."""
    return [("the closest person (automatic)", AUTO), ("nobody: leave this face as it is", NOBODY),
            *((name, str(j)) for j, name in enumerate(people))]


def _people_and_faces(given: dict, names: list, photos: list, choosers: list, face_ids: list[int],
                      own) -> tuple[dict[str, list[Path]], dict[int, str | None]]:
    """The people the user gave ({name: their uploaded photos}; an empty name is "Person N") and
    the faces they gave a person or nobody by hand ({face index: name or None}), from the page's
    values `given` of the person slots' `names` and `photos` and of the `choosers` of faces
    `face_ids`. UnmaskError for two people of one name or a face given to a person without photos."""
    people: dict[str, list[Path]] = {}
    named = []
    for j, name in enumerate(names):
        person = (given[name] or "").strip() or f"Person {j + 1}"
        if person in named:
            raise UnmaskError(f"two people are named {person}: give each their own name")
        named.append(person)
        if given[photos[j]]:
            people[person] = [own(p) for p in given[photos[j]]]
    assign: dict[int, str | None] = {}
    for index, chooser in zip(face_ids, choosers):
        choice = given[chooser]
        if choice == NOBODY:
            assign[index] = None
        elif choice not in (AUTO, None) and int(choice) < len(named):
            person = named[int(choice)]
            if person not in people:
                raise UnmaskError(f"face {index} is given to {person}, who has no photos: add their photos, or choose "
                                  "another person for the face")
            assign[index] = person
    return people, assign


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
    """What the page says about the result (Markdown): the identity distance, or for a group
    photo a table of its faces."""
    if job.faces:
        return _faces_table(job.faces)
    verdict = "same person" if job.same_person else "possibly another person"
    return (f"**Identity distance** {job.identity_distance:.3f} ({verdict}; from the part of the face above "
            "the mask, which tells people apart less well than a whole face)")


def _faces_table(faces: list[dict[str, Any]]) -> str:
    """The faces of a group photo's record as a Markdown table: number, person, what was done,
    identity distance (and its same-person limit)."""
    rows = ["| Face | Person | Result | Identity distance |", "|---|---|---|---|"]
    for entry in faces:
        done = "completed" if entry["status"] == "completed" else (
            f"left as it is: {entry['message'] or entry['status']}")
        distance = entry.get("identity_distance")
        measured = "" if distance is None else f"{distance:.3f} (same person up to {entry['identity_limit']:.2f})"
        rows.append(f"| {entry['face']} | {_cell(entry['person'] or '-')} | {_cell(done)} | {measured} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    """Text for a Markdown table cell (no column breaks)."""
    return text.replace("|", "/")


def _warning(job: JobResult) -> str:
    """The job's warnings for the box above the result (Markdown; empty when there are none)."""
    return "\n\n".join(f"**⚠ Warning:** {w}" for w in job.warnings)
