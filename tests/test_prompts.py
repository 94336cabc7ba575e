"""Prompts: presets, chat messages, and the team's prompts file that never gets lost."""

import json

import pytest

from ocr_pipeline.errors import PipelineError
from ocr_pipeline.prompts import (
    OUTPUT_RULES,
    PRESETS,
    Example,
    Prompt,
    PromptError,
    PromptFileError,
    all_prompts,
    build_messages,
    choose_prompt,
    delete_prompt,
    get_prompt,
    load_custom_prompts,
    move_prompts_file_aside,
    prompts_file,
    save_prompt,
    suggest_prompt,
)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("OCR_PIPELINE_HOME", str(tmp_path))
    return tmp_path


def team_prompt(name="legal", **changes):
    fields = dict(
        name=name,
        instruction="Repair OCR errors in contracts; keep clause numbers.",
        examples=[("Clause 4.2: the Iessee", "Clause 4.2: the lessee")],
        description="Contracts",
    )
    return Prompt(**{**fields, **changes})


def test_the_five_presets_exist_and_say_what_they_keep():
    assert list(PRESETS) == ["general", "financial", "medical", "table", "handwritten"]
    assert "number" in PRESETS["financial"].instruction and "currency" in PRESETS["financial"].instruction
    assert "dosage" in PRESETS["medical"].instruction and "unit" in PRESETS["medical"].instruction
    assert "row" in PRESETS["table"].instruction and "column" in PRESETS["table"].instruction
    assert "spelling" in PRESETS["handwritten"].instruction and "name" in PRESETS["handwritten"].instruction
    assert "line break" in PRESETS["general"].instruction and "punctuation" in PRESETS["general"].instruction


@pytest.mark.parametrize("name", list(PRESETS))
def test_messages_are_system_then_examples_then_the_chunk(name):
    prompt = PRESETS[name]
    messages = build_messages(prompt, "Tbe chunk")
    assert messages[0]["role"] == "system"
    assert prompt.instruction in messages[0]["content"] and "only the corrected text" in messages[0]["content"]
    turns = messages[1:-1]
    assert [m["role"] for m in turns] == ["user", "assistant"] * len(prompt.examples)
    assert [(u["content"], a["content"]) for u, a in zip(turns[::2], turns[1::2])] == list(prompt.examples)
    assert messages[-1] == {"role": "user", "content": "Tbe chunk"}


def test_a_custom_prompt_also_gets_the_output_rules():
    messages = build_messages(team_prompt(examples=()), "text")
    assert messages[0]["content"].endswith(OUTPUT_RULES) and len(messages) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Legal Docs"}, "short slug"),
        ({"name": ""}, "short slug"),
        ({"name": "x" * 41}, "short slug"),
        ({"name": "-legal"}, "short slug"),
        ({"instruction": "   "}, "non-empty instruction"),
        ({"instruction": "x" * 4001}, "limit 4000"),
        ({"description": "x" * 201}, "description"),
        ({"examples": "not a list"}, "examples must be a list"),
        ({"examples": [("only one side",)]}, "must be an OCR/corrected pair"),
        ({"examples": [("ocr", "")]}, "non-empty"),
        ({"examples": [{"ocr": "a", "answer": "b"}]}, "exactly 'ocr' and 'corrected'"),
        ({"examples": [("a", "b")] * 7}, "limit 6"),
    ],
)
def test_invalid_prompts_are_refused_with_a_message(changes, message):
    with pytest.raises(PromptError, match=message):
        team_prompt(**changes)


def test_saved_prompts_load_back_and_are_listed(home):
    path = save_prompt(team_prompt())
    assert path == home / "prompts.json" == prompts_file()
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["version"] == 1
    assert saved["prompts"]["legal"]["examples"] == [
        {"ocr": "Clause 4.2: the Iessee", "corrected": "Clause 4.2: the lessee"}
    ]
    loaded = load_custom_prompts()["legal"]
    assert loaded == team_prompt() and loaded.examples == (Example("Clause 4.2: the Iessee", "Clause 4.2: the lessee"),)
    assert get_prompt("legal") == loaded and get_prompt("general") is PRESETS["general"]
    assert list(all_prompts()) == [*PRESETS, "legal"]


def test_saving_again_replaces_and_keeps_the_previous_file_as_bak(home):
    save_prompt(team_prompt())
    save_prompt(team_prompt(instruction="Second version."))
    assert get_prompt("legal").instruction == "Second version."
    backup = json.loads((home / "prompts.json.bak").read_text(encoding="utf-8"))
    assert backup["prompts"]["legal"]["instruction"].startswith("Repair OCR errors")


def test_presets_cannot_be_replaced_or_deleted():
    with pytest.raises(PromptError, match="preset"):
        save_prompt(team_prompt(name="general"))
    with pytest.raises(PromptError, match="preset"):
        delete_prompt("financial")


def test_delete_removes_a_saved_prompt():
    save_prompt(team_prompt("legal"))
    save_prompt(team_prompt("receipts"))
    delete_prompt("legal")
    assert list(load_custom_prompts()) == ["receipts"]
    with pytest.raises(PromptError, match="no saved prompt named 'legal'"):
        delete_prompt("legal")


def test_unknown_prompt_names_list_what_exists():
    save_prompt(team_prompt())
    with pytest.raises(PromptError, match="Unknown prompt 'nope'.*general.*legal"):
        get_prompt("nope")


def test_no_file_means_no_team_prompts():
    assert load_custom_prompts() == {} and list(all_prompts()) == list(PRESETS)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "must be an object"),
        ('{"version": 1, "prompts": {"Bad Name": {"instruction": "x"}}}', "short slug"),
        ('{"version": 1, "prompts": {"legal": {"instruction": ""}}}', "non-empty instruction"),
        ('{"version": 1, "prompts": {"legal": {"instruction": "x", "colour": "red"}}}', "unknown fields"),
        ('{"version": 1, "prompts": {"general": {"instruction": "x"}}}', "preset name"),
        ('{"version": 1, "prompts": {"auto": {"instruction": "x"}}}', "stands for the preset that suits each"),
        (b"\xff\xfe\x00garbage", "cannot be read"),
    ],
)
def test_a_broken_file_gives_a_clear_error_and_is_never_overwritten(home, content, problem):
    path = home / "prompts.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = path.read_bytes()
    with pytest.raises(PromptFileError, match=problem) as caught:
        load_custom_prompts()
    assert isinstance(caught.value, PipelineError) and isinstance(caught.value, ValueError)
    assert str(path) in str(caught.value)
    with pytest.raises(PromptFileError):
        save_prompt(team_prompt())
    with pytest.raises(PromptFileError):
        delete_prompt("legal")
    assert path.read_bytes() == before
    assert get_prompt("general") is PRESETS["general"]  # presets still work


def test_a_broken_file_can_be_moved_aside_without_losing_it(home):
    path = home / "prompts.json"
    path.write_text("{broken", encoding="utf-8")
    backup = move_prompts_file_aside()
    assert backup.read_text(encoding="utf-8") == "{broken" and backup.name.endswith(".bak")
    assert not path.exists()
    save_prompt(team_prompt())
    assert list(load_custom_prompts()) == ["legal"]
    assert move_prompts_file_aside() != backup and move_prompts_file_aside() is None


def test_a_copied_file_is_how_a_team_shares_prompts(home, tmp_path_factory, monkeypatch):
    save_prompt(team_prompt())
    other_home = tmp_path_factory.mktemp("colleague")
    (other_home / "prompts.json").write_bytes((home / "prompts.json").read_bytes())
    monkeypatch.setenv("OCR_PIPELINE_HOME", str(other_home))
    assert get_prompt("legal") == team_prompt()


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        ("CORNER CAFE\nFlat white 4.50\nCroissant 3.20\nTOTAL 7.70\nCASH 10.00", "printed", "financial"),
        ("Estate valued at £60,605.\nShe left £1,000 each to £2,000 and £500.", "printed", "financial"),
        ("Patient: J. Doe\nAmoxicillin 500 mg three times daily\nParacetamol 1 g as needed", "printed", "medical"),
        ("Item    Qty    Price\nPaper    2    forty\nToner    1    sixty\nPens    10    five", "printed", "table"),
        ("Dear Anna,\nthe meeting moved to Friday at 10:30 in room 4B.", "printed", "general"),
        ("Your account shows a balance of $56.20 for February.", "printed", "general"),  # one amount: a letter
        ("Dear Anna,\nthe meeting moved to Friday.", "handwritten", "handwritten"),
    ],
)
def test_the_suggested_prompt_follows_the_document(text, mode, expected):
    name, why = suggest_prompt(text, mode)
    assert name == expected and name in PRESETS and why


def test_auto_is_no_name_for_a_team_prompt():
    """On the command line `auto` is the preset that suits each document: a prompt so named would be unreachable."""
    with pytest.raises(PromptError, match="'auto' stands for the preset that suits each document"):
        save_prompt(Prompt("auto", "Fix the OCR errors."))


def test_choose_prompt_names_a_prompt_or_suits_the_text():
    assert choose_prompt("table", "Tea 2.50\nTOTAL 2.50") == (PRESETS["table"], "")
    prompt, why = choose_prompt("auto", "Tea 2.50\nTOTAL 2.50")
    assert prompt is PRESETS["financial"] and "2 amount(s)" in why
