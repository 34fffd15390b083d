"""Procedural demo faces: deterministic, varied on request, streamed as records, and overlapping between
neighbouring classes without losing them."""

import io
import random
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from dataset_builder.builder import EmotiFusionBuilder
from dataset_builder.demo_faces import (
    EXPRESSIVE_PARTS,
    PROTOTYPES,
    demo_face_regions,
    generate_demo_faces,
    render_face,
    render_face_with_regions,
    sample_expression,
)
from emotifusion_hf.labels import EMOTIONS


def test_demo_faces_are_deterministic_and_fast():
    first = render_face("fear", 123, size=112)
    assert first.size == (112, 112) and first.mode == "RGB"
    assert first.tobytes() == render_face(EMOTIONS.index("fear"), random.Random(123), size=112).tobytes()
    assert first.tobytes() != render_face("fear", 124, size=112).tobytes()
    with pytest.raises(ValueError, match="'bored'"):
        render_face("bored", 0)


def test_demo_face_variation():
    """`variation` narrows pose, lighting, clutter, blur and noise: at 0 the background is a smooth gradient without
    sensor noise, so neighbouring pixels in a corner barely differ."""
    def corner_roughness(variation):
        corners = [np.asarray(render_face("happy", seed, size=64, variation=variation), dtype=np.float32)[:6, :6]
                   for seed in range(16)]
        return float(np.mean([np.abs(np.diff(corner, axis=1)).mean() for corner in corners]))

    assert render_face("sad", 7, size=64, variation=1.0).tobytes() == render_face("sad", 7, size=64).tobytes()
    assert render_face("sad", 7, size=64, variation=0.0).tobytes() != render_face("sad", 7, size=64).tobytes()
    assert corner_roughness(0.0) < 1.0 < corner_roughness(1.0)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="variation"):
            render_face("sad", 7, variation=bad)
    with pytest.raises(ValueError, match="face_variation"):
        EmotiFusionBuilder(config_name="demo", face_variation=2.0)


def test_demo_face_records():
    records = list(generate_demo_faces(2, seed=5, split="validation", size=64))
    assert [record.label for record in records] == list(range(8)) * 2  # classes interleaved
    assert all(isinstance(record.image, bytes) and record.source == "demo" for record in records)
    assert Image.open(io.BytesIO(records[0].image)).size == (64, 64)
    assert all(-1 <= record.valence <= 1 and -1 <= record.arousal <= 1 for record in records)
    again = list(generate_demo_faces(2, seed=5, split="validation", size=64))
    assert [record.image for record in records] == [record.image for record in again]


def test_demo_expressions_overlap_but_stay_learnable():
    # Nearest full-intensity prototype of each sampled expression (neutral only competes for neutral faces, since
    # weak expressions drift toward it by design): neighbours overlap, yet most faces keep their class.
    rng = random.Random(0)
    hits, confusions = 0, Counter()
    for index in range(1600):
        label = EMOTIONS[index % 8]
        params, _ = sample_expression(label, rng)
        candidates = [emotion for emotion in EMOTIONS if emotion != "neutral" or label == "neutral"]
        def distance(emotion):
            return sum((params[name] - value) ** 2 for name, value in PROTOTYPES[emotion].items())

        nearest = min(candidates, key=distance)
        hits += nearest == label
        confusions[(label, nearest)] += nearest != label
    assert 0.6 < hits / 1600 < 0.97
    assert confusions[("fear", "surprise")] > 0 and confusions[("disgust", "anger")] > 0


def test_demo_face_regions_lie_on_the_drawn_parts():
    """The part regions come from the shapes drawn: same image as `render_face`, brows above eyes above mouth, one
    eye on each side, and the white of the eyes (drawn nowhere else at variation 0 but in the teeth) inside them."""
    image, regions = render_face_with_regions("surprise", 11, size=112, variation=0.0)
    assert image.tobytes() == render_face("surprise", 11, size=112, variation=0.0).tobytes()
    assert list(regions) == list(EXPRESSIVE_PARTS)
    assert all(mask.shape == (112, 112) and 0.005 < mask.mean() < 0.1 for mask in regions.values())
    middle_row = {part: np.nonzero(mask.any(axis=1))[0].mean() for part, mask in regions.items()}
    assert middle_row["brows"] < middle_row["eyes"] < middle_row["mouth"]
    eye_columns = np.nonzero(regions["eyes"].any(axis=0))[0]
    assert eye_columns.min() < 56 < eye_columns.max() and not regions["eyes"][:, 54:58].any()  # two eyes, apart
    pixels = np.asarray(image, dtype=np.int16)
    white = (np.abs(pixels - np.array([245, 245, 240])).max(axis=-1) <= 6)
    assert white[regions["eyes"]].sum() > 20 and not white[~(regions["eyes"] | regions["mouth"])].any()


def test_demo_face_regions_of_a_streamed_face():
    record = next(generate_demo_faces(1, seed=2, split="validation", size=64, variation=0.5))
    image, regions = demo_face_regions(record.source_id, seed=2, size=64, variation=0.5)
    stored = np.asarray(Image.open(io.BytesIO(record.image)), dtype=np.float32)
    assert np.abs(np.asarray(image, dtype=np.float32) - stored).mean() < 5  # the same face, before its JPEG
    assert list(regions) == list(EXPRESSIVE_PARTS) and regions["mouth"].shape == (64, 64)
    for bad in ("demo/validation/bored/000000", "faces/a.jpg", None):
        with pytest.raises(ValueError, match="source_id"):
            demo_face_regions(bad, seed=2, size=64, variation=0.5)
