"""Finding and replacing the response of a sample, whatever its shape."""

from __future__ import annotations

import pytest

from workbench.responses import ResponseError, response_of, with_response


@pytest.mark.parametrize(
    ("sample", "response"),
    [
        ({"instruction": "Say hi", "output": "hi"}, "hi"),
        ({"text": "just text"}, "just text"),
        (
            {
                "conversations": [
                    {"from": "human", "value": "q"},
                    {"from": "gpt", "value": "a1"},
                    {"from": "human", "value": "q2"},
                    {"from": "gpt", "value": "a2"},
                ]
            },
            "a2",
        ),
    ],
)
def test_the_response_is_the_output_text_or_last_assistant_turn(sample, response):
    assert response_of(sample) == response
    revised = with_response(sample, "new")
    assert response_of(revised) == "new" and response_of(sample) == response


def test_a_chat_without_an_assistant_turn_has_no_response_to_correct():
    sample = {"messages": [{"role": "user", "content": "hello?"}]}
    assert response_of(sample) is None
    with pytest.raises(ResponseError, match="no response to correct"):
        with_response(sample, "hi")
