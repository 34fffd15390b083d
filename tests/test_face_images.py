"""Face pixels: crop, clamp, shrink, turn upright, keep stored JPEGs as they are, and catch damaged files, alone and
through worker processes."""

import io

import pytest
from PIL import Image

from dataset_builder.face_images import decoding_pool, encode_face, encode_faces, load_face
from dataset_builder.records import BadRowError, FaceRecord

from affectnet_trees import write_jpeg


def record_of(image, location="a", **kwargs):
    return FaceRecord(image=image, label=0, split="train", source_id=location, location=location, **kwargs)


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    write_jpeg(root / "face.jpg")
    write_jpeg(root / "big.jpg", size=(400, 300))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff truncated")
    return root


def test_face_box_is_clamped_to_the_image(faces_dir):
    path = str(faces_dir / "face.jpg")
    record = FaceRecord(path, label=0, split="train", source_id="face", location="x.csv:2", face_box=(-10, 30, 50, 40))
    image, box = load_face(record)
    assert box == (0, 30, 40, 18) and image.size == (40, 18)
    outside = FaceRecord(path, label=0, split="train", source_id="face", location="x.csv:3", face_box=(70, 0, 10, 10))
    with pytest.raises(BadRowError, match="x.csv:3") as error:
        load_face(outside)
    assert error.value.reason == "box_outside_image"


def test_encode_face_decodes_once_and_keeps_untouched_jpegs(faces_dir):
    path = faces_dir / "face.jpg"
    record = FaceRecord(image=str(path), label=0, split="train", source_id="a", location="a")
    data, box = encode_face(record)
    assert box is None and data == path.read_bytes()
    in_memory = FaceRecord(path.read_bytes(), 0, "train", source_id="a", location="a", face_box=(0, 0, 20, 10))
    cropped, box = encode_face(in_memory)
    assert box == (0, 0, 20, 10) and Image.open(io.BytesIO(cropped)).size == (20, 10)
    broken = FaceRecord(str(faces_dir / "broken.jpg"), label=6, split="train", source_id="b", location="x/broken.jpg")
    with pytest.raises(BadRowError, match="x/broken.jpg") as error:
        encode_face(broken)
    assert error.value.reason == "unreadable_image"


def test_whole_image_box_keeps_the_stored_bytes(faces_dir):
    data = (faces_dir / "face.jpg").read_bytes()
    kept, box = encode_face(record_of(data, face_box=(0, 0, 64, 48)))
    assert kept == data and box == (0, 0, 64, 48)


def test_truncated_jpeg_is_caught_although_its_header_parses(faces_dir):
    data = (faces_dir / "big.jpg").read_bytes()
    with pytest.raises(BadRowError) as error:
        encode_face(record_of(data[: len(data) // 2], location="half.jpg"))
    assert error.value.reason == "unreadable_image" and "half.jpg" in str(error.value)
    # Extra bytes after a complete image are not damage: it decodes, and is kept as stored.
    padded = data + b"\x00" * 16
    assert encode_face(record_of(padded))[0] == padded


def test_max_size_shrinks_faces_and_crops(faces_dir):
    path = str(faces_dir / "big.jpg")
    image, box = load_face(record_of(path), max_size=100)
    assert box is None and image.size == (100, 75)
    image, box = load_face(record_of(path, face_box=(0, 0, 200, 100)), max_size=50)
    assert box == (0, 0, 200, 100) and image.size == (50, 25)
    data, _ = encode_face(record_of(path), max_size=100)
    assert data != (faces_dir / "big.jpg").read_bytes() and Image.open(io.BytesIO(data)).size == (100, 75)


def test_exif_rotated_whole_image_is_turned_upright():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    Image.new("RGB", (40, 20), (10, 200, 30)).save(buffer, "JPEG", exif=exif)
    data = buffer.getvalue()
    image, box = load_face(record_of(data))
    assert box is None and image.size == (20, 40)
    encoded, _ = encode_face(record_of(data))
    assert encoded != data and Image.open(io.BytesIO(encoded)).size == (20, 40)
    # A box refers to the stored pixels, so a cropped face is not turned.
    image, _ = load_face(record_of(data, face_box=(0, 0, 40, 20)))
    assert image.size == (40, 20)


def test_worker_processes_give_the_same_faces_in_the_same_order(faces_dir):
    records = [
        record_of(str(faces_dir / "face.jpg"), location="kept"),
        record_of(str(faces_dir / "broken.jpg"), location="broken"),
        record_of(str(faces_dir / "big.jpg"), location="crop", face_box=(10, 10, 100, 80)),
        record_of(str(faces_dir / "missing.jpg"), location="missing"),
    ] * 5
    alone = list(encode_faces(records, max_size=64))
    with decoding_pool(2) as pool:
        pooled = list(encode_faces(records, max_size=64, pool=pool, chunks_in_flight=2, chunk_size=3))

    def comparable(results):
        return [
            (record.location, (face.reason, face.location) if isinstance(face, BadRowError) else face)
            for record, face in results
        ]

    assert comparable(pooled) == comparable(alone)
    reasons = [face.reason for _, face in alone[:4] if isinstance(face, BadRowError)]
    assert reasons == ["unreadable_image", "missing_file"]


def test_decoding_pool_needs_two_processes():
    with decoding_pool(None) as pool:
        assert pool is None
    with decoding_pool(1) as pool:
        assert pool is None
