"""Estimates of how long a correction takes, from chunks measured before."""

import pytest

from ocr_pipeline.throughput import Throughput, describe_seconds


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("OCR_PIPELINE_HOME", str(tmp_path))


def test_a_fixed_cost_per_chunk_and_a_cost_per_token_are_told_apart():
    measured = Throughput("m", [(10, 3.0), (20, 4.0), (40, 6.0)])  # 2 s per chunk + 0.1 s per token
    assert measured.seconds_for([30]) == pytest.approx(5.0)
    assert measured.seconds_for([10, 10, 10]) == pytest.approx(9.0)


def test_nothing_measured_means_no_estimate():
    assert Throughput("m").seconds_for([10]) is None


def test_samples_are_kept_between_runs_per_key(tmp_path):
    first = Throughput.load("demo on llamacpp")
    first.record(50, 2.0)
    first.save()
    other = Throughput("tiny on transformers", [(5, 1.0)])
    other.save()
    again = Throughput.load("demo on llamacpp")
    assert again.seconds_for([50]) == pytest.approx(2.0)
    assert Throughput.load("tiny on transformers").seconds_for([5]) == pytest.approx(1.0)


def test_an_unreadable_file_starts_empty(tmp_path):
    (tmp_path / "throughput.json").write_text("{not json")
    assert not Throughput.load("x").measured


@pytest.mark.parametrize(("seconds", "text"), [(4.4, "4 s"), (125, "2 min 05 s"), (3725, "1 h 02 min")])
def test_durations_read_like_a_person_says_them(seconds, text):
    assert describe_seconds(seconds) == text
