"""Shapes: each turns a record into the stored sample and the text to embed, or says what is wrong."""

from __future__ import annotations

import pytest

from workbench.ingest.errors import RowProblem
from workbench.ingest.shapes import SHAPES, detect_shape


def convert(shape, record, fields=None):
    return SHAPES[shape](record, fields or {})


def test_alpaca_keeps_the_fields_and_embeds_them_joined():
    record = {"instruction": "Add  2 and 2.", "input": "", "output": "4\r\n", "id": 3}
    shaped = convert("alpaca", record)
    assert shaped.sample == {"instruction": "Add  2 and 2.", "input": "", "output": "4\r\n"}
    assert shaped.text == "Add 2 and 2.\n\n4"


def test_alpaca_input_may_be_left_out():
    assert convert("alpaca", {"instruction": "Hi", "output": "Hello"}).sample == {
        "instruction": "Hi",
        "output": "Hello",
    }


def test_chats_render_turns_with_one_spelling_of_each_role():
    sharegpt = {"conversations": [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "您好！"}]}
    messages = {"messages": [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "您好！"}]}
    assert (
        convert("sharegpt", sharegpt).text
        == convert("messages", messages).text
        == "user: 你好\nassistant: 您好！"
    )
    assert convert("sharegpt", sharegpt).sample == sharegpt
    assert convert("messages", messages).sample == messages


def test_text_shape_reads_the_mapped_field():
    shaped = convert("text", {"content": " A review. ", "stars": 5}, {"text": "content"})
    assert (shaped.sample, shaped.text) == ({"text": " A review. "}, "A review.")


@pytest.mark.parametrize(
    ("shape", "record", "reason"),
    [
        ("alpaca", {"instruction": "x"}, "missing field 'output' (alpaca shape)"),
        ("alpaca", {"instruction": "x", "output": None}, "missing field 'output' (alpaca shape)"),
        (
            "alpaca",
            {"instruction": 12, "output": "x"},
            "wrong type: 'instruction' is a number, expected a string (alpaca shape)",
        ),
        ("alpaca", {"instruction": " ", "input": "\n", "output": ""}, "empty text"),
        (
            "sharegpt",
            {"conversations": "hi"},
            "wrong type: 'conversations' is a string, expected a list (sharegpt shape)",
        ),
        (
            "sharegpt",
            {"conversations": [{"from": "human"}]},
            "missing field 'value' in 'conversations' turn 1 (sharegpt shape)",
        ),
        (
            "sharegpt",
            {"conversations": [{"from": "human", "value": "a"}, "b"]},
            "wrong type: 'conversations' turn 2 is a string, "
            "expected an object with 'from' and 'value' (sharegpt shape)",
        ),
        (
            "messages",
            {"messages": [{"role": "user", "content": ["part"]}]},
            "wrong type: 'content' in 'messages' turn 1 is a list, expected a string (messages shape)",
        ),
        ("messages", {"messages": []}, "empty text"),
        ("messages", {"messages": [{"role": "user", "content": "  "}]}, "empty text"),
        ("text", {"text": True}, "wrong type: 'text' is a boolean, expected a string (text shape)"),
    ],
)
def test_bad_records_say_what_is_wrong(shape, record, reason):
    with pytest.raises(RowProblem) as caught:
        convert(shape, record)
    assert str(caught.value) == reason


def test_a_mapped_field_is_named_as_it_is_in_the_file():
    with pytest.raises(RowProblem, match=r"^missing field 'answer' \(alpaca shape\)$"):
        convert("alpaca", {"question": "q"}, {"instruction": "question", "output": "answer"})


@pytest.mark.parametrize(
    ("keys", "fields", "shape"),
    [
        (["messages", "id"], {}, "messages"),
        (["conversations"], {}, "sharegpt"),
        (["instruction", "input", "output", "label"], {}, "alpaca"),
        (["text", "label"], {}, "text"),
        (["question", "answer"], {"instruction": "question", "output": "answer"}, "alpaca"),
    ],
)
def test_the_shape_is_detected_from_the_keys(keys, fields, shape):
    assert detect_shape(dict.fromkeys(keys, ""), fields).name == shape


def test_unknown_keys_detect_no_shape():
    assert detect_shape({"prompt": "", "completion": ""}, {}) is None
