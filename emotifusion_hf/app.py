"""`emotifusion app`: the model in the browser (Gradio), and the same function as a `/predict` API endpoint.

The page takes a face (upload or webcam) and a dialogue (one turn per line) and shows, on Submit, the eight-emotion
distribution, the image-only and text-only evidence, the face under its heat map and the words shaded by weight.
`gradio_client.Client(url).predict(handle_file("face.jpg"), "You ate my cake?", api_name="/predict")` returns
`{emotion: score}` for all eight emotions. Gradio is the optional `[app]` extra, imported only here.
"""

import os

from .explanation import explained_face, highlighted_words


APP_TITLE = "EmotiFusion: emotion from a face and a dialogue"
NEEDS_INPUT = "Give a face image, a dialogue (one turn per line), or both."
# The page's explanation unless the user picks another: on the demo faces, integrated gradients (from a blurred face)
# put the heat map on the brows, eyes and mouth; the attention map, at a small model's coarse cell grid, cannot
# (`python -m bench --only explanations`).
DEFAULT_EXPLANATION_METHOD = "integrated_gradients"


def dialogue_from_text(text):
    """The dialogue box's text as the pipeline takes it: one turn per non-blank line (a single line is a plain
    string); `None` when there are no words."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f"The dialogue must be text, got {type(text).__name__}.")
    turns = [line.strip() for line in text.splitlines() if line.strip()]
    if not turns:
        return None
    return turns[0] if len(turns) == 1 else turns


def _distribution(scores) -> dict[str, float] | None:
    return None if scores is None else {item["label"]: float(item["score"]) for item in scores}


class EmotionDemo:
    """What the page and the API call: one pipeline, two functions. Bad input becomes a message, never a trace."""

    def __init__(self, pipe, explanation_method: str | None = None):
        self.pipe = pipe
        self.explanation_method = explanation_method or DEFAULT_EXPLANATION_METHOD

    def _inputs(self, image, text) -> dict:
        dialogue = dialogue_from_text(text)
        if not image and dialogue is None:
            raise ValueError(NEEDS_INPUT)
        return {"image": image or None, "text": dialogue}

    def scores(self, image, text) -> dict[str, float]:
        """`/predict`: an image file path (or `None`) and a dialogue -> `{emotion: score}`."""
        import gradio as gr

        try:
            return _distribution(self.pipe(self._inputs(image, text)))
        except (OSError, ValueError, TypeError) as error:
            raise gr.Error(_readable(error)) from None

    def explain(self, image, text):
        """The Submit button: (distribution, image-only, text-only, heat map, highlighted words, status)."""
        try:
            inputs = self._inputs(image, text)
            result = self.pipe(inputs, return_modalities=True, return_explanation=True,
                               explanation_method=self.explanation_method)
            heat = explained_face(inputs["image"], result["explanation"]) if inputs["image"] else None
        except (OSError, ValueError, TypeError) as error:
            return None, None, None, None, None, f"**Error:** {_readable(error)}"
        top = result["scores"][0]
        status = f"Top emotion: **{top['label']}** ({top['score']:.2f}); explained by {result['explanation']['method']}."
        return (
            _distribution(result["scores"]),
            _distribution(result["image_only"]),
            _distribution(result["text_only"]),
            heat,
            highlighted_words(result["explanation"]["tokens"]) or None,
            status,
        )


def _readable(error: Exception) -> str:
    """One line for the page: the message, without the exception's class or a trace; temp upload paths shortened."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return message.replace(os.path.join(os.path.sep, "tmp", "gradio", ""), "")


def build_app(pipe, examples=None, explanation_method: str | None = None, title: str = APP_TITLE):
    """The Gradio `Blocks` of the demo over `pipe` (an emotion-fusion pipeline). `examples`: `[[image path,
    dialogue], ...]` shown under the inputs (e.g. `dataset_builder.demo_examples.write_demo_examples`)."""
    try:
        import gradio as gr
    except ImportError as error:
        raise ImportError('The app needs Gradio: `pip install "emotifusion-hf[app]"`.') from error

    demo = EmotionDemo(pipe, explanation_method)
    with gr.Blocks(title=title) as blocks:
        gr.Markdown(f"# {title}\nUpload a face (or use the webcam), type a dialogue with one turn per line, and press "
                    "**Submit**. The heat map and the shaded words show what drove the answer.")
        with gr.Row():
            with gr.Column():
                image = gr.Image(label="Face", type="filepath", sources=["upload", "webcam"], elem_id="face")
                text = gr.Textbox(label="Dialogue (one turn per line)", lines=4, elem_id="dialogue")
                submit = gr.Button("Submit", variant="primary", elem_id="submit")
                status = gr.Markdown(elem_id="status")
            with gr.Column():
                fused = gr.Label(label="Emotion (image + dialogue)", num_top_classes=8, elem_id="fused")
                with gr.Row():
                    image_only = gr.Label(label="Image-only evidence", num_top_classes=3, elem_id="image-only")
                    text_only = gr.Label(label="Text-only evidence", num_top_classes=3, elem_id="text-only")
                heat = gr.Image(label="Where the face mattered", type="pil", interactive=False, elem_id="heat")
                words = gr.HighlightedText(label="Which words mattered", elem_id="words")
        if examples:
            gr.Examples(examples=[list(example) for example in examples], inputs=[image, text])
        submit.click(
            demo.explain, inputs=[image, text], outputs=[fused, image_only, text_only, heat, words, status],
            api_name="explain",
        )
        # The REST endpoint: hidden components, so its output is the plain {emotion: score} mapping.
        api_image = gr.Image(type="filepath", visible=False)
        api_text = gr.Textbox(visible=False)
        api_scores = gr.JSON(visible=False)
        api_trigger = gr.Button(visible=False)
        api_trigger.click(demo.scores, inputs=[api_image, api_text], outputs=api_scores, api_name="predict",
                          concurrency_limit=4)
    return blocks


def launch_app(model: str, host: str = "127.0.0.1", port: int = 7860, examples=None, device=None,
               explanation_method: str | None = None, prevent_thread_lock: bool = False):
    """Load `model` (a checkpoint folder or Hub id) and serve the demo on `host:port`."""
    from .predict import load_pipeline

    pipe = load_pipeline(model, device)
    blocks = build_app(pipe, examples, explanation_method)
    allowed = sorted({os.path.dirname(os.path.abspath(path)) for path, _ in examples or []})
    blocks.queue(default_concurrency_limit=1)
    blocks.launch(server_name=host, server_port=port, allowed_paths=allowed, prevent_thread_lock=prevent_thread_lock,
                  show_error=False, quiet=prevent_thread_lock)
    return blocks


def run_app(args, examples=None) -> int:
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1-65535, got {args.port}.")
    launch_app(args.model, args.host, args.port, examples=examples, device=args.device,
               explanation_method=args.explanation_method)
    return 0


__all__ = [
    "DEFAULT_EXPLANATION_METHOD",
    "EmotionDemo",
    "build_app",
    "dialogue_from_text",
    "launch_app",
    "run_app",
]
