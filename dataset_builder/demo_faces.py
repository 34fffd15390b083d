"""
Procedural faces for the embedded demo dataset.

A face is drawn from a small set of expression parameters (brow raise, inner-brow raise, brow squeeze, eye
opening, lower-lid raise, mouth curvature, openness and width, upper-lip raise, nose wrinkle, an asymmetric lip
corner for contempt, ...), loosely following the facial action units that separate the eight emotions. Each class
has a prototype; a sample scales it by a random intensity (weak expressions drift toward neutral), often mixes
in a neighbouring class (anger/disgust, fear/surprise, sad/neutral, contempt/neutral, happy/surprise) and adds
per-parameter noise, so neighbouring classes overlap and an image-only model does not saturate.

Identity (skin tone, face shape, hair style and colour, eye colour, brows, glasses, beard), pose (in-plane rotation,
a hint of yaw, translation, scale), lighting, blur, noise and background vary independently of the class.

All shapes are polygons transformed by the pose before drawing, so rotation costs nothing extra; a 112- or 224-px
face renders in a few milliseconds. Rendering is seeded and deterministic.

Because every shape is drawn here, where the expressive parts (brows, eyes, mouth) lie is known by construction:
`render_face_with_regions` and `demo_face_regions` return a mask per part beside the face, the ground truth against
which a heat map's localisation is measured.
"""

import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from emotifusion_hf.labels import CONFUSIONS, EMOTIONS

from .records import FaceRecord


PARAMETERS = (
    "brow_raise",  # both brows up (+) or down (-)
    "brow_inner",  # inner brow ends up (+, sad/fear) or down (-, anger)
    "brow_squeeze",  # inner brow ends pulled together
    "brow_asym",  # one brow raised (scepticism)
    "eye_open",  # eye opening, 1 = relaxed
    "lower_lid",  # lower lid raised (squint)
    "mouth_curve",  # corners up (+) or down (-)
    "mouth_open",  # jaw/lip opening
    "mouth_width",  # 1 = relaxed
    "lip_asym",  # one lip corner raised and pulled sideways (contempt)
    "upper_lip_raise",  # upper lip lifted (disgust)
    "lip_press",  # lips pressed thin
    "nose_wrinkle",  # wrinkles at the nose bridge (disgust, some anger)
    "cheek_raise",  # cheeks lifted, deeper smile folds
    "teeth",  # teeth showing in an open mouth
)
_NEUTRAL = dict.fromkeys(PARAMETERS, 0.0) | {"eye_open": 1.0, "mouth_width": 1.0}
# Parameters that only make sense from zero up (an opening, a wrinkle, ...).
_ONE_SIDED = (
    "mouth_open", "teeth", "nose_wrinkle", "cheek_raise", "upper_lip_raise", "lip_press", "lower_lid", "lip_asym",
)

PROTOTYPES = {
    "neutral": dict(_NEUTRAL),
    "happy": _NEUTRAL | {"mouth_curve": 0.9, "mouth_open": 0.35, "mouth_width": 1.18, "lower_lid": 0.45,
                         "eye_open": 0.88, "teeth": 0.85, "cheek_raise": 0.9, "brow_raise": 0.05},
    "sad": _NEUTRAL | {"brow_inner": 0.8, "brow_raise": -0.15, "brow_squeeze": 0.3, "eye_open": 0.8,
                       "mouth_curve": -0.7, "mouth_width": 0.92, "lip_press": 0.25},
    "surprise": _NEUTRAL | {"brow_raise": 0.9, "brow_inner": 0.25, "eye_open": 1.5, "mouth_open": 0.9,
                            "mouth_width": 0.72, "teeth": 0.15},
    "fear": _NEUTRAL | {"brow_raise": 0.55, "brow_inner": 0.7, "brow_squeeze": 0.55, "eye_open": 1.45,
                        "mouth_open": 0.45, "mouth_width": 1.2, "mouth_curve": -0.25, "teeth": 0.5},
    "anger": _NEUTRAL | {"brow_raise": -0.55, "brow_inner": -0.75, "brow_squeeze": 0.8, "eye_open": 0.85,
                         "lower_lid": 0.35, "mouth_curve": -0.25, "mouth_open": 0.12, "mouth_width": 0.88,
                         "lip_press": 0.8, "nose_wrinkle": 0.3, "teeth": 0.25},
    "disgust": _NEUTRAL | {"brow_raise": -0.35, "brow_inner": -0.3, "brow_squeeze": 0.4, "eye_open": 0.75,
                           "lower_lid": 0.55, "upper_lip_raise": 0.85, "mouth_curve": -0.45, "nose_wrinkle": 1.0,
                           "mouth_open": 0.2, "teeth": 0.3, "cheek_raise": 0.4},
    "contempt": _NEUTRAL | {"lip_asym": 0.85, "brow_asym": 0.35, "eye_open": 0.9, "lower_lid": 0.15,
                            "mouth_curve": 0.05, "mouth_width": 0.96, "lip_press": 0.3},
}

# Circumplex position (valence, arousal) of each emotion at full intensity; the demo's affect annotations.
CIRCUMPLEX = {
    "anger": (-0.6, 0.7), "contempt": (-0.5, 0.3), "disgust": (-0.65, 0.45), "fear": (-0.6, 0.75),
    "happy": (0.8, 0.45), "neutral": (0.0, 0.0), "sad": (-0.7, -0.35), "surprise": (0.2, 0.8),
}

SKIN_TONES = (
    (255, 224, 196), (241, 194, 158), (224, 172, 125), (198, 134, 90), (161, 102, 64), (115, 70, 42), (84, 52, 33),
)
HAIR_COLOURS = (
    (20, 16, 14), (55, 38, 26), (96, 62, 36), (150, 108, 62), (205, 170, 110), (170, 70, 40), (120, 120, 120),
    (230, 230, 225),
)
IRIS_COLOURS = ((60, 40, 25), (90, 60, 35), (70, 100, 140), (80, 120, 80), (110, 90, 60))
HAIR_STYLES = ("bald", "short", "side_part", "bangs", "long", "bun")

# The parts whose shapes carry the expression; each one's region is the union of its filled shapes' bounding boxes,
# widened by REGION_MARGIN (in face units, where 1 is the image side) so a map centred on the part counts as on it.
EXPRESSIVE_PARTS = ("brows", "eyes", "mouth")
REGION_MARGIN = 0.02


@dataclass
class _Pose:
    centre_x: float
    centre_y: float
    scale: float
    cos: float
    sin: float
    yaw: float

    def __call__(self, points) -> list[tuple[float, float]]:
        """Face coordinates (unit face, y down, yaw-shifted) -> pixel coordinates."""
        out = []
        for x, y in points:
            x = x + self.yaw * 0.06 * (1.0 - abs(x) * 1.5)
            out.append((self.centre_x + self.scale * (x * self.cos - y * self.sin),
                        self.centre_y + self.scale * (x * self.sin + y * self.cos)))
        return out


def _ellipse(cx, cy, rx, ry, n=24, start=0.0, end=2 * math.pi):
    angles = [start + (end - start) * i / n for i in range(n + 1)]
    return [(cx + rx * math.cos(angle), cy + ry * math.sin(angle)) for angle in angles]


def _bezier(p0, p1, p2, n=10):
    """Quadratic Bezier from p0 to p2 with control p1."""
    points = []
    for i in range(n + 1):
        t = i / n
        a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
        points.append((a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]))
    return points


def _shade(colour, factor):
    return tuple(max(0, min(255, int(channel * factor))) for channel in colour)


def _confused_with(emotion: str, rng: random.Random) -> str:
    """A neighbouring emotion whose expression features a face of `emotion` may borrow (`CONFUSIONS`, weighted)."""
    neighbours = CONFUSIONS[emotion]
    return rng.choices(list(neighbours), weights=list(neighbours.values()))[0]


def sample_expression(label: int | str, rng: random.Random) -> tuple[dict[str, float], float]:
    """
    Expression parameters for one face of `label`, and the intensity used.

    Intensity scales the prototype's departure from neutral; 40% of the faces also borrow from a neighbouring
    class; every parameter gets noise.
    """
    emotion = EMOTIONS[label] if isinstance(label, int) else label
    intensity = rng.uniform(0.3, 1.15) if emotion != "neutral" else rng.uniform(0.0, 1.0)
    prototype = PROTOTYPES[emotion]
    params = {name: _NEUTRAL[name] + intensity * (prototype[name] - _NEUTRAL[name]) for name in PARAMETERS}
    if emotion == "neutral":
        # Neutral faces are not perfectly still: a resting expression leaks a little of some class.
        leak = PROTOTYPES[_confused_with("neutral", rng)]
        params = {name: params[name] + 0.25 * intensity * (leak[name] - _NEUTRAL[name]) for name in PARAMETERS}
    if rng.random() < 0.4:
        neighbour = PROTOTYPES[_confused_with(emotion, rng)]
        # Up to 0.6: a few faces look more like the neighbour than like their label, as in human annotations.
        weight = rng.uniform(0.2, 0.6)
        borrowed = {name: _NEUTRAL[name] + intensity * (neighbour[name] - _NEUTRAL[name]) for name in PARAMETERS}
        params = {name: (1 - weight) * params[name] + weight * borrowed[name] for name in PARAMETERS}
    for name in PARAMETERS:
        params[name] += rng.gauss(0.0, 0.1)
    params["eye_open"] = max(0.35, params["eye_open"])
    params["mouth_width"] = min(1.4, max(0.6, params["mouth_width"]))
    for name in _ONE_SIDED:
        params[name] = min(1.2, max(0.0, params[name]))
    return params, intensity


def _background(size: int, rng: random.Random, variation: float) -> Image.Image:
    # A 2x2 colour field stretched bilinearly is a smooth two-way gradient at no per-pixel cost in Python.
    corners = Image.new("RGB", (2, 2))
    corners.putdata([tuple(rng.randint(20, 235) for _ in range(3)) for _ in range(4)])
    image = corners.resize((size, size), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(0, round(4 * variation))):  # clutter: frames, windows, shelves
        x0, y0 = rng.uniform(-0.2, 1.0) * size, rng.uniform(-0.2, 1.0) * size
        x1, y1 = x0 + rng.uniform(0.1, 0.6) * size, y0 + rng.uniform(0.1, 0.6) * size
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
    return image


_NOISE_TILE: np.ndarray | None = None


def _noise_tile() -> np.ndarray:
    """A fixed tile of unit Gaussian noise; each face takes a random window of it (drawing fresh noise is slow)."""
    global _NOISE_TILE
    if _NOISE_TILE is None:
        _NOISE_TILE = np.random.default_rng(20240607).standard_normal((640, 640)).astype(np.float32)
    return _NOISE_TILE


def _identity(rng: random.Random) -> dict:
    skin = SKIN_TONES[rng.randrange(len(SKIN_TONES))]
    skin = tuple(max(0, min(255, channel + rng.randint(-12, 12))) for channel in skin)
    hair = HAIR_COLOURS[rng.randrange(len(HAIR_COLOURS))]
    return {
        "skin": skin,
        "hair": hair,
        "hair_style": rng.choice(HAIR_STYLES),
        "iris": IRIS_COLOURS[rng.randrange(len(IRIS_COLOURS))],
        "face_rx": rng.uniform(0.27, 0.33),
        "face_ry": rng.uniform(0.35, 0.41),
        "jaw": rng.uniform(0.75, 1.0),  # narrow (<1) or broad chin
        "eye_spacing": rng.uniform(0.12, 0.15),
        "eye_size": rng.uniform(0.85, 1.15),
        "brow_thickness": rng.uniform(0.016, 0.03),
        "brow_colour": _shade(hair, 0.8) if rng.random() < 0.8 else (40, 30, 25),
        "resting_brow": rng.gauss(0.0, 0.012),
        "resting_mouth": rng.gauss(0.0, 0.12),  # some people's relaxed mouths turn down or up
        "mouth_base_width": rng.uniform(0.2, 0.25),
        "lip_colour": _shade(skin, rng.uniform(0.62, 0.8)),
        "glasses": rng.random() < 0.12,
        "beard": rng.random() < 0.12,
        "shirt": tuple(rng.randint(0, 255) for _ in range(3)),
    }


class _Painter:
    """Draws polygons and lines given in face coordinates, through the pose, with strokes scaled to the face.

    While `part` names an expressive part, each filled shape is also kept in `shapes` as `(part, points)`, in face
    coordinates: the source of the part regions."""

    def __init__(self, draw: ImageDraw.ImageDraw, pose: _Pose, stroke: float):
        self.draw, self.pose, self.stroke = draw, pose, stroke
        self.part: str | None = None
        self.shapes: list[tuple[str, list[tuple[float, float]]]] = []

    def polygon(self, points, fill) -> None:
        if self.part is not None:
            self.shapes.append((self.part, list(points)))
        self.draw.polygon(self.pose(points), fill=fill)

    def line(self, points, fill, width) -> None:
        width = max(1, int(round(width * self.stroke)))
        self.draw.line(self.pose(points), fill=fill, width=width, joint="curve")


_EYE_Y = -0.04


def _draw_face(draw: ImageDraw.ImageDraw, pose: _Pose, identity: dict, p: dict, stroke: float) -> list:
    """Draws the face; returns the expressive parts' filled shapes (`_Painter.shapes`)."""
    paint = _Painter(draw, pose, stroke)
    jaw_drop = 0.04 * p["mouth_open"]
    _draw_head(paint, identity, jaw_drop)
    _draw_forehead_lines(paint, identity["skin"], p)
    for side in (-1, 1):
        paint.part = "brows"
        _draw_brow(paint, identity, p, side)
        paint.part = "eyes"
        _draw_eye(paint, identity, p, side)
    paint.part = None
    if identity["glasses"]:
        spacing = identity["eye_spacing"]
        paint.line([(-spacing + 0.075, _EYE_Y - 0.01), (spacing - 0.075, _EYE_Y - 0.01)], (30, 30, 30), 0.007)
    nose_tip, flare = _draw_nose(paint, identity["skin"], p)
    paint.part = "mouth"
    _draw_mouth(paint, identity, p, jaw_drop, nose_tip, flare)
    paint.part = None
    return paint.shapes


def _draw_head(paint: _Painter, identity: dict, jaw_drop: float) -> None:
    """Shoulders, neck, hair behind the head, ears, the face outline (and beard), then the hair on top."""
    skin, hair = identity["skin"], identity["hair"]
    rx, ry = identity["face_rx"], identity["face_ry"]
    paint.polygon([(-0.55, 0.75), (-0.35, 0.5), (0.35, 0.5), (0.55, 0.75), (0.6, 1.2), (-0.6, 1.2)], identity["shirt"])
    paint.polygon([(-0.11, 0.25), (0.11, 0.25), (0.12, 0.55), (-0.12, 0.55)], _shade(skin, 0.9))
    style = identity["hair_style"]
    if style == "long":
        paint.polygon(_ellipse(0, 0.05, rx * 1.25, ry * 1.2, n=28), hair)
    elif style == "bun":
        paint.polygon(_ellipse(0, -ry - 0.06, 0.09, 0.07, n=16), hair)
    for side in (-1, 1):
        paint.polygon(_ellipse(side * rx * 0.98, 0.0, 0.04, 0.065, n=12), _shade(skin, 0.95))
    outline = _face_outline(rx, ry, identity["jaw"], jaw_drop)
    paint.polygon(outline, skin)
    if identity["beard"]:
        # Jaw and chin below the nose line; the mouth is drawn over it.
        paint.polygon([(x, y) for x, y in outline if y > 0.13], _shade(hair, 1.0))
    if style in ("short", "side_part", "bangs", "long", "bun"):
        top = _ellipse(0, -ry * 0.35, rx * 1.04, ry * 0.72, n=20, start=math.pi, end=2 * math.pi)
        fringe = -ry * {"short": 0.62, "side_part": 0.55, "bangs": 0.38, "long": 0.58, "bun": 0.62}[style]
        if style == "side_part":
            paint.polygon(top + [(rx * 1.02, fringe + 0.05), (-0.05, fringe - 0.02), (-rx * 1.02, fringe + 0.08)], hair)
        else:
            paint.polygon(top + [(rx * 1.02, fringe + 0.04), (0.0, fringe), (-rx * 1.02, fringe + 0.04)], hair)


def _face_outline(rx: float, ry: float, jaw: float, jaw_drop: float) -> list[tuple[float, float]]:
    """An ellipse whose lower half narrows toward the chin and drops with the open mouth."""
    outline = []
    for i in range(40):
        angle = 2 * math.pi * i / 40
        x, y = rx * math.cos(angle), ry * math.sin(angle)
        if y > 0:
            x *= 1 - (1 - jaw) * (y / ry) ** 1.5
            y += jaw_drop * (y / ry)
        outline.append((x, y))
    return outline


def _draw_forehead_lines(paint: _Painter, skin, p: dict) -> None:
    """Forehead lines when the brows are raised (surprise, fear)."""
    raise_amount = max(0.0, p["brow_raise"] + 0.5 * p["brow_inner"])
    if raise_amount > 0.35:
        shade = _shade(skin, 1 - 0.25 * min(1.0, raise_amount))
        for k in range(3):
            y = -0.2 - 0.035 * k
            paint.line(_bezier((-0.12, y + 0.01), (0.0, y - 0.012), (0.12, y + 0.01), n=6), shade, 0.006)


def _draw_brow(paint: _Painter, identity: dict, p: dict, side: int) -> None:
    """Inner and outer ends move separately; the asymmetry raises the right brow only."""
    spacing = identity["eye_spacing"]
    base = _EYE_Y - 0.09 + identity["resting_brow"] - 0.05 * p["brow_raise"]
    inner_y = base - 0.045 * p["brow_inner"] + 0.018 * p["brow_squeeze"]
    outer_y = base + 0.01 * p["brow_inner"]
    if side == 1:
        inner_y -= 0.035 * p["brow_asym"]
        outer_y -= 0.045 * p["brow_asym"]
    inner_x = side * (spacing - 0.07 - 0.02 * p["brow_squeeze"])
    outer_x = side * (spacing + 0.075)
    mid = ((inner_x + outer_x) / 2, min(inner_y, outer_y) - 0.018)
    thickness = identity["brow_thickness"]
    upper = _bezier((inner_x, inner_y), mid, (outer_x, outer_y), n=8)
    lower = [(x, y + thickness * (1.0 - 0.5 * abs(i - 4) / 4)) for i, (x, y) in enumerate(upper)]
    paint.polygon(upper + lower[::-1], identity["brow_colour"])


def _draw_eye(paint: _Painter, identity: dict, p: dict, side: int) -> None:
    """An almond between an upper and a lower lid; the iris is clipped to the opening."""
    size = identity["eye_size"]
    cx, width = side * identity["eye_spacing"], 0.058 * size
    upper_open = 0.03 * size * p["eye_open"]
    lower_open = 0.022 * size * (1.0 - 0.75 * p["lower_lid"]) * min(1.3, p["eye_open"])
    left, right = (cx - width, _EYE_Y), (cx + width, _EYE_Y)
    upper_lid = _bezier(left, (cx, _EYE_Y - 2 * upper_open), right, n=8)
    lower_lid = _bezier(right, (cx, _EYE_Y + 2 * lower_open), left, n=8)
    paint.polygon(upper_lid + lower_lid, (245, 245, 240))
    iris_r = 0.024 * size
    top, bottom = _EYE_Y - upper_open * 0.95, _EYE_Y + lower_open * 0.95
    iris_top, iris_bottom = max(_EYE_Y - iris_r, top), min(_EYE_Y + iris_r, bottom)
    if iris_bottom > iris_top:
        centre = (iris_top + iris_bottom) / 2
        paint.polygon(_ellipse(cx, centre, iris_r, (iris_bottom - iris_top) / 2, n=14), identity["iris"])
        pupil = min(iris_r * 0.45, (iris_bottom - iris_top) / 2)
        paint.polygon(_ellipse(cx, centre, pupil, pupil, n=10), (15, 12, 12))
    paint.line(upper_lid, (25, 20, 20), 0.008)
    paint.line(lower_lid, _shade(identity["skin"], 0.55), 0.003 + 0.004 * p["lower_lid"])
    if identity["glasses"]:
        paint.line(_ellipse(cx, _EYE_Y, 0.075, 0.05, n=16), (30, 30, 30), 0.007)


def _draw_nose(paint: _Painter, skin, p: dict) -> tuple[float, float]:
    """Bridge, nostrils (flared and lifted by the wrinkle), bunny lines for disgust; returns (tip y, flare)."""
    dark = _shade(skin, 0.55)
    wrinkle = p["nose_wrinkle"]
    nose_tip = 0.1 - 0.012 * wrinkle
    paint.line([(0.012, 0.0), (0.022, nose_tip - 0.02)], dark, 0.005)
    flare = 0.035 + 0.012 * wrinkle
    paint.line(_bezier((-flare, nose_tip - 0.01), (0.0, nose_tip + 0.025), (flare, nose_tip - 0.01), n=8), dark, 0.007)
    if wrinkle > 0.3:
        shade = _shade(skin, 1 - 0.35 * min(1.0, wrinkle))
        for k in range(1 + int(wrinkle * 2.5)):
            y = -0.005 + 0.016 * k
            paint.line([(-0.03, y), (0.03, y - 0.004)], shade, 0.005)
    return nose_tip, flare


def _draw_mouth(paint: _Painter, identity: dict, p: dict, jaw_drop: float, nose_tip: float, flare: float) -> None:
    """Corners move with curvature and asymmetry; the lips open around a dark interior."""
    mouth_y = 0.215 + jaw_drop * 0.5
    half_width = identity["mouth_base_width"] / 2 * p["mouth_width"]
    curve = 0.055 * (p["mouth_curve"] + identity["resting_mouth"])
    left_corner = (-half_width, mouth_y - curve)
    right_corner = (half_width * (1 + 0.18 * p["lip_asym"]), mouth_y - curve - 0.05 * p["lip_asym"])
    opening = 0.12 * p["mouth_open"]
    upper_lift = 0.02 * p["upper_lip_raise"]
    thin = 1.0 - 0.6 * p["lip_press"]
    upper_inner = _bezier(left_corner, (0.0, mouth_y - upper_lift - 0.4 * curve), right_corner, n=10)
    lower_inner = _bezier(right_corner, (0.0, mouth_y + opening + 0.6 * curve * (opening > 0.02)), left_corner, n=10)
    upper_outer = _bezier(left_corner, (0.0, mouth_y - upper_lift - 0.4 * curve - 0.035 * thin), right_corner, n=10)
    lower_outer = _bezier(right_corner, (0.0, mouth_y + opening + 0.045 * thin), left_corner, n=10)
    _draw_smile_folds(paint, identity["skin"], p, (left_corner, right_corner), nose_tip, flare)
    paint.polygon(upper_outer + lower_outer, identity["lip_colour"])
    if opening > 0.012:
        paint.polygon(upper_inner + lower_inner, (55, 20, 25))
        if p["teeth"] > 0.35:
            teeth_bottom = _bezier(right_corner, (0.0, mouth_y + min(opening, 0.035)), left_corner, n=10)
            paint.polygon(upper_inner + teeth_bottom, (240, 238, 228))
    else:
        paint.line(upper_inner, _shade(identity["lip_colour"], 0.6), 0.006)


def _draw_smile_folds(paint: _Painter, skin, p: dict, corners, nose_tip: float, flare: float) -> None:
    """Folds from the nose wings to the mouth corners (smiles, cheek raises, nose wrinkles)."""
    folds = 0.3 * p["cheek_raise"] + 0.5 * max(0.0, p["mouth_curve"]) + 0.3 * p["nose_wrinkle"]
    if folds > 0.25:
        shade = _shade(skin, 1 - 0.3 * min(1.0, folds))
        for corner, wing in zip(corners, (-flare - 0.01, flare + 0.01)):
            middle = (wing * 1.9, (nose_tip + corner[1]) / 2)
            fold = _bezier((wing, nose_tip - 0.02), middle, (corner[0] * 1.12, corner[1]))
            paint.line(fold, shade, 0.006)


def render_face(
    label: int | str, rng_or_seed: random.Random | int | None = None, size: int = 112, variation: float = 1.0
) -> Image.Image:
    """
    Draw one synthetic face showing `label`.

    Args:
        label (`int` or `str`): index into `EMOTIONS` or its name.
        rng_or_seed (`random.Random` or `int`, *optional*): the randomness; the same seed gives the same image.
        size (`int`, *optional*, defaults to 112): width and height in pixels.
        variation (`float`, *optional*, defaults to 1.0): how far pose, lighting, background clutter, blur and
            sensor noise vary, from 0 (a frontal, evenly lit face on a plain gradient) to 1. Identity and the
            expression itself (intensity, blends with neighbouring classes) vary the same at every setting.

    Returns:
        `PIL.Image.Image`: an RGB `size` x `size` image.
    """
    image, _, _ = _render(label, rng_or_seed, size, variation)
    return image


def render_face_with_regions(
    label: int | str, rng_or_seed: random.Random | int | None = None, size: int = 112, variation: float = 1.0
) -> tuple[Image.Image, dict[str, np.ndarray]]:
    """
    `render_face` (same arguments, same image) and where its expressive parts are: `{part: (size, size) bool
    array}` for each of `EXPRESSIVE_PARTS`, True on the pixels of that part's region (see `REGION_MARGIN`).
    """
    image, _, regions = _render(label, rng_or_seed, size, variation, with_regions=True)
    return image, regions


def _render(label: int | str, rng_or_seed, size: int, variation: float = 1.0, with_regions: bool = False):
    """`(image, intensity, regions)`; `regions` is `None` unless `with_regions`."""
    label = _check_render_arguments(label, size, variation)
    rng = rng_or_seed if isinstance(rng_or_seed, random.Random) else random.Random(rng_or_seed)
    params, intensity = sample_expression(label, rng)
    identity = _identity(rng)
    # Small faces are drawn at twice the size and downsampled: cheap anti-aliasing for the thin lines.
    canvas_size = size * 2 if size <= 160 else size
    canvas = _background(canvas_size, rng, variation)
    pose = _random_pose(canvas_size, rng, variation)
    shapes = _draw_face(ImageDraw.Draw(canvas), pose, identity, params, stroke=pose.scale)
    regions = _region_masks(shapes, pose, canvas_size, size) if with_regions else None
    if canvas_size != size:
        canvas = canvas.reduce(canvas_size // size)
    return _camera_effects(canvas, rng, variation), intensity, regions


def _region_masks(shapes, pose: _Pose, canvas_size: int, size: int) -> dict[str, np.ndarray]:
    """Each part's shapes boxed (in face coordinates, widened by REGION_MARGIN), posed, filled and brought to
    `size` as the image is (a pixel belongs to a region when at least half of it is covered)."""
    masks = {}
    for part in EXPRESSIVE_PARTS:
        canvas = Image.new("L", (canvas_size, canvas_size), 0)
        draw = ImageDraw.Draw(canvas)
        for shape_part, points in shapes:
            if shape_part != part:
                continue
            xs, ys = [x for x, _ in points], [y for _, y in points]
            left, right = min(xs) - REGION_MARGIN, max(xs) + REGION_MARGIN
            top, bottom = min(ys) - REGION_MARGIN, max(ys) + REGION_MARGIN
            # Edges sampled densely: the pose's yaw bends straight lines a little.
            steps = [i / 8 for i in range(8)]
            outline = (
                [(left + (right - left) * t, top) for t in steps] + [(right, top + (bottom - top) * t) for t in steps]
                + [(right - (right - left) * t, bottom) for t in steps]
                + [(left, bottom - (bottom - top) * t) for t in steps]
            )
            draw.polygon(pose(outline), fill=255)
        if canvas_size != size:
            canvas = canvas.reduce(canvas_size // size)
        masks[part] = np.asarray(canvas) >= 128
    return masks


def _check_render_arguments(label: int | str, size: int, variation: float) -> int:
    if isinstance(label, str):
        if label not in EMOTIONS:
            raise ValueError(f"Unknown emotion {label!r}: expected one of {EMOTIONS}.")
        label = EMOTIONS.index(label)
    if not 0 <= label < len(EMOTIONS):
        raise ValueError(f"Emotion index {label} is out of range 0-{len(EMOTIONS) - 1}.")
    if not 32 <= size <= 512:
        raise ValueError(f"size must be between 32 and 512 pixels, got {size}.")
    if not 0.0 <= variation <= 1.0:
        raise ValueError(f"variation must be between 0 and 1, got {variation}.")
    return label


def _random_pose(canvas_size: int, rng: random.Random, v: float) -> _Pose:
    """In-plane rotation, scale, translation and a hint of yaw, all narrowed by the variation `v`."""
    angle = math.radians(max(-15.0, min(15.0, rng.gauss(0.0, 6.0 * v))))
    scale = canvas_size * rng.uniform(1.01 - 0.11 * v, 1.01 + 0.11 * v)
    return _Pose(
        centre_x=canvas_size * (0.5 + rng.uniform(-0.06, 0.06) * v),
        centre_y=canvas_size * (0.48 + rng.uniform(-0.05, 0.05) * v),
        scale=scale,
        cos=math.cos(angle),
        sin=math.sin(angle),
        yaw=max(-1.0, min(1.0, rng.gauss(0.0, 0.4 * v))),
    )


def _camera_effects(canvas: Image.Image, rng: random.Random, v: float) -> Image.Image:
    """Blur, directional light, exposure, colour cast and sensor noise, all narrowed by the variation `v`."""
    size = canvas.width
    if rng.random() < 0.3 * v:
        canvas = canvas.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 1.1) * size / 112))
    pixels = np.asarray(canvas, dtype=np.float32)
    direction = rng.uniform(0, 2 * math.pi)
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    strength = rng.uniform(0.0, 0.3 * v)
    light = 1.0 + (strength * math.cos(direction)) * ramp[None, :] + (strength * math.sin(direction)) * ramp[:, None]
    gain = rng.uniform(1.0 - 0.25 * v, 1.0 + 0.2 * v)
    colour_gain = np.array([gain * rng.uniform(1.0 - 0.08 * v, 1.0 + 0.08 * v) for _ in range(3)], dtype=np.float32)
    pixels *= light[..., None]
    pixels *= colour_gain
    tile = _noise_tile()
    row, column = rng.randrange(tile.shape[0] - size), rng.randrange(tile.shape[1] - size)
    pixels += (rng.uniform(2.0, 9.0) * v * tile[row : row + size, column : column + size])[..., None]
    np.clip(pixels, 0, 255, out=pixels)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def affect_of(label: int | str, intensity: float, rng: random.Random) -> tuple[float, float]:
    """A (valence, arousal) annotation for a demo face: its class's circumplex point scaled by intensity, plus noise."""
    emotion = EMOTIONS[label] if isinstance(label, int) else label
    valence, arousal = CIRCUMPLEX[emotion]
    scale = min(1.0, 0.35 + 0.65 * intensity)
    valence = max(-1.0, min(1.0, valence * scale + rng.gauss(0.0, 0.08)))
    arousal = max(-1.0, min(1.0, arousal * scale + rng.gauss(0.0, 0.08)))
    return round(valence, 4), round(arousal, 4)


def generate_demo_faces(
    per_class: int, seed: int = 0, split: str = "train", size: int = 112, quality: int = 92, variation: float = 1.0
) -> Iterator[FaceRecord]:
    """
    Stream `per_class` demo faces of every emotion as `FaceRecord`s holding JPEG bytes, classes interleaved.

    Face k of class c in `split` depends only on `(seed, split, c, k)` (and `size`, `variation`, see `render_face`).
    """
    if per_class < 0:
        raise ValueError(f"per_class must be >= 0, got {per_class}.")
    for index in range(per_class):
        for label, emotion in enumerate(EMOTIONS):
            rng = _demo_face_rng(seed, split, emotion, index)
            image, intensity, _ = _render(label, rng, size, variation)
            valence, arousal = affect_of(label, intensity, rng)
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=quality)
            source_id = f"demo/{split}/{emotion}/{index:06d}"
            yield FaceRecord(
                image=buffer.getvalue(),
                label=label,
                split=split,
                source_id=source_id,
                location=source_id,
                valence=valence,
                arousal=arousal,
                source="demo",
            )


def demo_face_regions(
    source_id: str, seed: int, size: int, variation: float
) -> tuple[Image.Image, dict[str, np.ndarray]]:
    """
    The face `generate_demo_faces(..., seed=seed, size=size, variation=variation)` streamed as `source_id`
    (`"demo/<split>/<emotion>/<index>"`), rendered again (before JPEG) with its part regions, as
    `render_face_with_regions` gives them.
    """
    parts = source_id.split("/") if isinstance(source_id, str) else []
    if len(parts) != 4 or parts[0] != "demo" or parts[2] not in EMOTIONS or not parts[3].isdigit():
        raise ValueError(
            f"source_id must look like 'demo/<split>/<emotion>/<index>' (a demo face's id), got {source_id!r}."
        )
    _, split, emotion, index = parts
    image, _, regions = _render(emotion, _demo_face_rng(seed, split, emotion, int(index)), size, variation,
                                with_regions=True)
    return image, regions


def _demo_face_rng(seed: int, split: str, emotion: str, index: int) -> random.Random:
    return random.Random(f"demo-face|{seed}|{split}|{emotion}|{index}")


__all__ = [
    "CIRCUMPLEX",
    "EXPRESSIVE_PARTS",
    "PARAMETERS",
    "PROTOTYPES",
    "REGION_MARGIN",
    "affect_of",
    "demo_face_regions",
    "generate_demo_faces",
    "render_face",
    "render_face_with_regions",
    "sample_expression",
]
