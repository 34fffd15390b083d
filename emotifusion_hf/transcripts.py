"""Transcripts for the video timeline: SubRip (.srt), WebVTT (.vtt) and JSON files read into timed utterances.

Every parse error names the file and the line it is on, so a subtitle exported by hand can be fixed where it broke.
Torch-free: only the standard library.
"""

import json
import os
import re
import stat
from dataclasses import dataclass


TRANSCRIPT_EXTENSIONS = (".srt", ".vtt", ".json")


class TranscriptError(ValueError):
    """A transcript that cannot be read; the message names the file and, where it applies, the line."""


@dataclass(frozen=True)
class Utterance:
    """One line of the transcript: said from `start` to `end` (seconds), optionally by `speaker`."""

    start: float
    end: float
    text: str
    speaker: str | None = None

    def covers(self, time: float) -> bool:
        return self.start <= time < self.end


# 00:01:02,500 (SRT) or 00:01:02.500 / 01:02.500 (VTT); hours may have more than two digits.
_TIMESTAMP = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_TIMING_LINE = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}(?:\s+.*)?$")
_VOICE_TAG = re.compile(r"<v(?:\.[^ >]*)?\s+([^>]+)>")
_MARKUP_TAG = re.compile(r"</?[^>]+>")  # <i>, <b>, <c.yellow>, </v>, <00:00:01.000> ...
_SRT_BRACES = re.compile(r"\{\\[^}]*\}")  # {\an8} position codes some SRT writers add


def _seconds(hours, minutes, seconds, fraction) -> float:
    # "5" after the separator is half a second in a sloppy file ("00:00:01,5"), so pad on the right.
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000


def _clean(text: str) -> str:
    text = _SRT_BRACES.sub("", _MARKUP_TAG.sub("", text))
    return " ".join(text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ").split())


def _read_text(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig") as handle:  # subtitle editors often write a byte-order mark
            return handle.read().splitlines()
    except UnicodeDecodeError as error:
        raise TranscriptError(
            f"Transcript {path!r} is not UTF-8 text ({error.reason} at byte {error.start}); re-save it as UTF-8."
        ) from None


def _parse_cues(path: str, lines: list[str], first_line: int, webvtt: bool) -> list[Utterance]:
    """Cues of an SRT or VTT body: blocks separated by blank lines, each with one timing line and its text."""
    utterances = []
    index = first_line
    while index < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        block_start = index
        block = []
        while index < len(lines) and lines[index].strip():
            block.append(lines[index])
            index += 1
        if webvtt and block[0].split(maxsplit=1)[0] in {"NOTE", "STYLE", "REGION"}:
            continue
        timing_offset = next((offset for offset, line in enumerate(block[:2]) if "-->" in line), None)
        if timing_offset is None and not webvtt and block[0].strip().isdigit() and len(block) > 1:
            raise TranscriptError(f"{path}, line {block_start + 2}: expected a timing line like "
                                  f"'00:00:01,000 --> 00:00:02,500' after cue number {block[0].strip()}, got "
                                  f"{block[1].strip()!r}.")
        if timing_offset is None:
            expected = "a cue timing line like '00:00:01.000 --> 00:00:02.500'" if webvtt else (
                "a cue number followed by a timing line like '00:00:01,000 --> 00:00:02,500'")
            raise TranscriptError(f"{path}, line {block_start + 1}: expected {expected}, got {block[0].strip()!r}.")
        if not webvtt and timing_offset == 1 and not block[0].strip().isdigit():
            raise TranscriptError(
                f"{path}, line {block_start + 1}: expected a cue number before the timing line, got "
                f"{block[0].strip()!r}."
            )
        line_number = block_start + timing_offset + 1
        match = _TIMING_LINE.match(block[timing_offset])
        if match is None:
            raise TranscriptError(
                f"{path}, line {line_number}: cannot read the cue times in {block[timing_offset].strip()!r} "
                "(expected HH:MM:SS,mmm --> HH:MM:SS,mmm)."
            )
        start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
        if end < start:
            raise TranscriptError(f"{path}, line {line_number}: the cue ends ({end:.3f} s) before it starts "
                                  f"({start:.3f} s).")
        raw_text = "\n".join(block[timing_offset + 1 :])
        voice = _VOICE_TAG.search(raw_text)
        text = _clean(raw_text.replace("\n", " "))
        if text:  # an empty cue (a pause marker) says nothing to score
            utterances.append(Utterance(start, end, text, voice.group(1).strip() if voice else None))
    return utterances


def parse_srt(path: str) -> list[Utterance]:
    return _parse_cues(path, _read_text(path), 0, webvtt=False)


def parse_vtt(path: str) -> list[Utterance]:
    lines = _read_text(path)
    if not lines or not lines[0].startswith("WEBVTT"):
        first = lines[0].strip() if lines else ""
        raise TranscriptError(f"{path}, line 1: a WebVTT file starts with 'WEBVTT', got {first!r}.")
    # The header runs to the first blank line (it may carry metadata lines).
    header_end = next((index for index, line in enumerate(lines) if not line.strip()), len(lines))
    return _parse_cues(path, lines, header_end, webvtt=True)


def _json_time(value, path: str, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
        raise TranscriptError(f"{path}: {where} has {key}={value!r}; expected a finite number of seconds >= 0.")
    return float(value)


def parse_json(path: str) -> list[Utterance]:
    """A list of `{"start", "end", "text"[, "speaker"]}` objects, or an object holding one under `"utterances"` or
    `"segments"` (the shape speech-to-text tools such as Whisper write)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = json.load(handle)
    except UnicodeDecodeError as error:
        raise TranscriptError(f"Transcript {path!r} is not UTF-8 text ({error.reason} at byte {error.start}).") from None
    except json.JSONDecodeError as error:
        raise TranscriptError(f"{path}, line {error.lineno}, column {error.colno}: not valid JSON ({error.msg}).") from None
    if isinstance(data, dict):
        key = next((name for name in ("utterances", "segments") if isinstance(data.get(name), list)), None)
        if key is None:
            raise TranscriptError(f"{path}: a JSON transcript object needs an 'utterances' or 'segments' list.")
        data = data[key]
    if not isinstance(data, list):
        raise TranscriptError(f"{path}: a JSON transcript is a list of {{start, end, text}} objects, got "
                              f"{type(data).__name__}.")
    utterances = []
    for index, item in enumerate(data):
        where = f"utterance {index}"
        if not isinstance(item, dict):
            raise TranscriptError(f"{path}: {where} is {type(item).__name__}, not an object with start, end, text.")
        missing = [key for key in ("start", "end", "text") if key not in item]
        if missing:
            raise TranscriptError(f"{path}: {where} lacks {', '.join(missing)}.")
        start, end = _json_time(item["start"], path, where, "start"), _json_time(item["end"], path, where, "end")
        if end < start:
            raise TranscriptError(f"{path}: {where} ends ({end:.3f} s) before it starts ({start:.3f} s).")
        if not isinstance(item["text"], str):
            raise TranscriptError(f"{path}: {where} text is {type(item['text']).__name__}, not a string.")
        speaker = item.get("speaker")
        text = " ".join(item["text"].split())
        if text:
            utterances.append(Utterance(start, end, text, str(speaker) if speaker is not None else None))
    return utterances


def read_transcript(path: str) -> list[Utterance]:
    """The utterances of a `.srt`, `.vtt` or `.json` transcript, sorted by start time."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"Transcript file not found: {path!r}")
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(f"Transcript {path!r} is not a regular file (a folder, pipe or device).")
    extension = os.path.splitext(path)[1].lower()
    parsers = {".srt": parse_srt, ".vtt": parse_vtt, ".json": parse_json}
    if extension not in parsers:
        raise TranscriptError(f"Transcript {path!r}: unknown format {extension or '(no extension)'!r}; expected one "
                              f"of {', '.join(TRANSCRIPT_EXTENSIONS)}.")
    return sorted(parsers[extension](path), key=lambda utterance: (utterance.start, utterance.end))


def clip_to_duration(utterances: list[Utterance], duration: float) -> tuple[list[Utterance], list[str]]:
    """Utterances cut to `[0, duration]` and the warnings that says so: one starting after the end is dropped, one
    running past it is shortened."""
    kept, warnings = [], []
    for utterance in utterances:
        if utterance.start >= duration:
            warnings.append(f"utterance at {utterance.start:.2f} s ({utterance.text[:40]!r}) starts after the video "
                            f"ends ({duration:.2f} s): dropped")
            continue
        if utterance.end > duration:
            warnings.append(f"utterance at {utterance.start:.2f} s ends at {utterance.end:.2f} s, after the video "
                            f"ends ({duration:.2f} s): clipped")
            utterance = Utterance(utterance.start, duration, utterance.text, utterance.speaker)
        kept.append(utterance)
    return kept, warnings


__all__ = [
    "TRANSCRIPT_EXTENSIONS",
    "TranscriptError",
    "Utterance",
    "clip_to_duration",
    "parse_json",
    "parse_srt",
    "parse_vtt",
    "read_transcript",
]
