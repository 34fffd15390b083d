"""The explanation benchmark's localisation measure: the region lift of a heat map, and the part regions it takes
from the demo face generator."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from bench.explanations import demo_face_parts, region_lift, region_lifts
from dataset_builder.demo_faces import (
    EXPRESSIVE_PARTS,
    demo_face_regions,
    generate_demo_faces,
)


def test_region_lift_on_synthetic_maps():
    region = np.zeros((8, 8), dtype=bool)
    region[2:4, 2:6] = True  # 8 of 64 cells: an eighth of the area
    assert region_lift(np.ones((8, 8)), region) == pytest.approx(1.0)  # uniform: no better than chance
    assert region_lift(region.astype(float), region) == pytest.approx(8.0)  # all the heat on the region
    assert region_lift(1.0 - region, region) == 0.0
    assert region_lift(np.where(region, 1.0, 1.0 / 7.0), region) == pytest.approx(4.0)  # half the mass on it
    assert np.isnan(region_lift(np.zeros((8, 8)), region))
    with pytest.raises(ValueError, match="heat map is"):
        region_lift(np.ones((4, 4)), region)
    with pytest.raises(ValueError, match="boolean"):
        region_lift(np.ones((8, 8)), region.astype(int))
    with pytest.raises(ValueError, match="cover some"):
        region_lift(np.ones((8, 8)), np.zeros((8, 8), dtype=bool))
    with pytest.raises(ValueError, match="non-negative"):
        region_lift(-np.ones((8, 8)), region)


def test_the_bench_takes_the_part_regions_from_the_demo_face_generator():
    record = next(generate_demo_faces(1, seed=3, split="test", size=64, variation=0.3))
    stored = Image.open(io.BytesIO(record.image))
    build_report = {"seed": 3, "image_size": 64, "face_variation": 0.3}
    parts = demo_face_parts(build_report, record.source_id, stored)
    _, drawn = demo_face_regions(record.source_id, seed=3, size=64, variation=0.3)
    assert list(parts) == list(EXPRESSIVE_PARTS)
    assert all(np.array_equal(parts[name], drawn[name]) for name in EXPRESSIVE_PARTS)
    # Regions of another face are refused rather than scored.
    with pytest.raises(ValueError, match="not the stored face"):
        demo_face_parts({**build_report, "seed": 4}, record.source_id, stored)
    with pytest.raises(ValueError, match="source_id"):
        demo_face_parts(build_report, "images/face.jpg", stored)

    # A map that is the parts themselves scores 1 / their area share; a flat one (min-max scaled to 0) is left out.
    everything = np.logical_or.reduce(list(parts.values()))
    explained = {"on_the_parts": [{"face": torch.from_numpy(everything.astype(np.float32))}],
                 "flat": [{"face": torch.ones(8, 8)}]}
    lifts = region_lifts(explained, [stored], [parts])
    assert lifts["on_the_parts"]["lift"] == pytest.approx(1.0 / everything.mean(), rel=1e-3)
    assert lifts["on_the_parts"]["mass_share"] == pytest.approx(1.0, rel=1e-3)
    assert lifts["flat"]["lift"] is None and lifts["flat"]["flat_maps"] == 1
