"""Transcripts: SRT, WebVTT and JSON read into timed utterances; every broken file is named with its line."""

import json

import pytest

from emotifusion_hf.transcripts import (
    TranscriptError,
    Utterance,
    clip_to_duration,
    read_transcript,
)


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


def test_srt_cues_with_markup_multiline_text_and_a_byte_order_mark(tmp_path):
    path = _write(tmp_path, "clip.srt", "\ufeff1\n00:00:01,500 --> 00:00:03,000\n<i>You did</i> what?\nSeriously?\n\n"
                  "2\n00:00:04,000 --> 00:00:05,25\n{\\an8}Fine &amp; good.\n\n\n3\n00:00:06,000 --> 00:00:07,000\n\n")
    assert read_transcript(path) == [
        Utterance(1.5, 3.0, "You did what? Seriously?"),
        Utterance(4.0, 5.25, "Fine & good."),
    ]


def test_vtt_header_notes_cue_ids_settings_and_voices(tmp_path):
    path = _write(tmp_path, "clip.vtt", "WEBVTT - a clip\nKind: captions\n\nNOTE written by hand\nover two lines\n\n"
                  "intro\n00:01.000 --> 00:02.500 align:start position:10%\n<v Ann>Where were you?</v>\n\n"
                  "01:00:00.000 --> 01:00:01.000\n<v.loud Bob>At work!\n")
    assert read_transcript(path) == [
        Utterance(1.0, 2.5, "Where were you?", "Ann"),
        Utterance(3600.0, 3601.0, "At work!", "Bob"),
    ]


def test_json_list_and_whisper_style_segments_are_sorted_by_start(tmp_path):
    items = [{"start": 3, "end": 4.5, "text": " later ", "speaker": "B"}, {"start": 0.5, "end": 1, "text": "first"}]
    listed = _write(tmp_path, "a.json", json.dumps(items))
    wrapped = _write(tmp_path, "b.json", json.dumps({"language": "en", "segments": items}))
    expected = [Utterance(0.5, 1.0, "first"), Utterance(3.0, 4.5, "later", "B")]
    assert read_transcript(listed) == expected
    assert read_transcript(wrapped) == expected


@pytest.mark.parametrize("name, text, message", [
    ("a.srt", "1\n00:00:01,000 --> 00:00:02,000\nHi.\n\n2\n00:00:03,000 -> 00:00:04,000\nBye.\n",
     "a.srt, line 6: expected a timing line"),
    ("a.srt", "1\n00:00:01,000 --> 00:00:0x,000\nHi.\n", "a.srt, line 2: cannot read the cue times"),
    ("a.srt", "\n\n1\n00:00:05,000 --> 00:00:02,000\nHi.\n", "a.srt, line 4: the cue ends (2.000 s) before"),
    ("a.srt", "Hello there\nGeneral\n", "a.srt, line 1: expected a cue number"),
    ("a.vtt", "1\n00:00:01.000 --> 00:00:02.000\nHi.\n", "a.vtt, line 1: a WebVTT file starts with 'WEBVTT'"),
    ("a.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nHi.\n\nstray words\n", "a.vtt, line 6: expected a cue timing"),
    ("a.json", '[\n {"start": 0, "end": 1, "text": "a"},\n {"start": 1 "end": 2}\n]', "a.json, line 3, column"),
    ("a.json", '[{"start": 0, "end": 1}]', "utterance 0 lacks text"),
    ("a.json", '[{"start": -1, "end": 1, "text": "a"}]', "utterance 0 has start=-1"),
    ("a.json", '[{"start": 2, "end": 1, "text": "a"}]', "utterance 0 ends (1.000 s) before it starts"),
    ("a.json", '{"words": []}', "needs an 'utterances' or 'segments' list"),
    ("a.txt", "hello", "unknown format '.txt'"),
])
def test_a_broken_transcript_names_the_file_and_line(tmp_path, name, text, message):
    path = _write(tmp_path, name, text)
    with pytest.raises(TranscriptError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_transcript(path)


def test_not_utf8_missing_and_non_regular_transcripts(tmp_path):
    latin = _write(tmp_path, "latin.srt", "1\n00:00:01,000 --> 00:00:02,000\nCaf\u00e9\n", encoding="latin-1")
    with pytest.raises(TranscriptError, match="not UTF-8"):
        read_transcript(latin)
    with pytest.raises(FileNotFoundError, match="missing.srt"):
        read_transcript(str(tmp_path / "missing.srt"))
    with pytest.raises(OSError, match="not a regular file"):
        read_transcript(str(tmp_path))


def test_clip_to_duration_shortens_and_drops_with_warnings():
    utterances = [Utterance(1, 2, "inside"), Utterance(4, 7, "runs past the end"), Utterance(9, 10, "after")]
    kept, warnings = clip_to_duration(utterances, 5.0)
    assert kept == [Utterance(1, 2, "inside"), Utterance(4, 5.0, "runs past the end")]
    assert len(warnings) == 2 and "clipped" in warnings[0] and "dropped" in warnings[1]
