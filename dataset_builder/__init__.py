"""
Data for EmotiFusion: AffectNet readers, procedural demo faces, synthetic emotion dialogues, and the dataset
builder that pairs faces with dialogues.

```python
>>> from dataset_builder import EmotiFusionBuilder
>>> builder = EmotiFusionBuilder(config_name="demo", cache_dir="cache", per_class=32)
>>> builder.download_and_prepare()
>>> dataset = builder.as_dataset()
```

Modules: `records` (face records, row errors), `affectnet` (layout readers), `face_images` (decode, crop,
encode), `demo_faces` (procedural faces), `sources` (one class per face source), `builder_config` (the builder's
settings), `builder` (the `datasets` builder, `build_dataset`), `build_command` (`build` on the command line),
`dialogues` (the dialogue generator).

Command line: `python -m dataset_builder build ...` and `python -m dataset_builder dialogues ...`.
"""

from .affectnet import EXPRESSION_CODES, LAYOUTS, detect_layout, read_affectnet, resolve_class_name
from .builder import EmotiFusionBuilder, pair_text_label
from .builder_config import EmotiFusionBuilderConfig
from .demo_faces import generate_demo_faces, render_face
from .dialogues import (
    Dialogue,
    DialogueGenerator,
    DiversityMeter,
    diversity_report,
    generate_dialogues,
    template_bank,
)
from .face_images import encode_face, load_face
from .records import SKIP_REASONS, BadRowError, FaceRecord, UnknownClassError
from .sources import DEMO_DEFAULTS

__all__ = [
    "DEMO_DEFAULTS",
    "EXPRESSION_CODES",
    "LAYOUTS",
    "SKIP_REASONS",
    "BadRowError",
    "Dialogue",
    "DialogueGenerator",
    "DiversityMeter",
    "EmotiFusionBuilder",
    "EmotiFusionBuilderConfig",
    "FaceRecord",
    "UnknownClassError",
    "detect_layout",
    "diversity_report",
    "encode_face",
    "generate_demo_faces",
    "generate_dialogues",
    "load_face",
    "pair_text_label",
    "read_affectnet",
    "render_face",
    "resolve_class_name",
    "template_bank",
]
