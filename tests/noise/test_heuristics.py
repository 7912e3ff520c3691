"""SFT response heuristics: each fires on its example and stays quiet on clean samples."""

from __future__ import annotations

import pytest

from workbench.noise import DETECTORS, NoiseData, run_detectors

HEURISTICS = [name for name, spec in DETECTORS.items() if spec.family == "response"]

JAVA = 'public static void main(String[] args) {System.out.println("Hello world, how are you today?");}'
PYTHON_ZH = "以下是相应的Python代码：\n```python\nprint('Hello world, how are you today?')\n```"

CLEAN = [
    ("alpaca", {"instruction": "Give three tips for staying healthy.", "input": "",
                "output": "1. Eat a balanced diet.\n2. Exercise regularly.\n3. Get enough sleep."}),
    ("alpaca", {"instruction": "What is 2 + 2?", "input": "", "output": "4"}),
    ("alpaca", {"instruction": "Write a Python function that adds two numbers.", "input": "",
                "output": "Here it is:\n```python\ndef add(a, b):\n    return a + b\n```"}),
    ("alpaca", {"instruction": "请介绍一下长城。", "input": "",
                "output": "长城是中国古代的军事防御工程，全长两万多公里，是世界文化遗产。"}),
    ("alpaca", {"instruction": "Translate into English: 我喜欢猫。", "input": "", "output": "I like cats."}),
    ("messages", {"messages": [{"role": "user", "content": "Name a primary colour."},
                               {"role": "assistant", "content": "Red is a primary colour."}]}),
    ("sharegpt", {"conversations": [{"from": "human", "value": "Say hello in French."},
                                    {"from": "gpt", "value": "Bonjour !"}]}),
    ("alpaca", {"instruction": "将以下java代码改写成python代码。", "input": JAVA, "output": PYTHON_ZH}),
    ("alpaca", {"instruction": "Write a SQL query for the five most expensive products.", "input": "",
                "output": "SELECT name FROM products ORDER BY price DESC LIMIT 5;"}),
    ("text", {"text": "Just a document without a response"}),
]  # fmt: skip

LOOP = "I will help you with that. " * 20
CUT = (
    "Gravity is the force by which a planet or other body draws objects toward its centre "
    "and it keeps all of the planets in orbit around the"
)

FIRES = {
    "short_output": ("alpaca", {"instruction": "Explain photosynthesis.", "output": "  "}),
    "repeats_instruction": ("alpaca", {"instruction": "Describe the water cycle in detail.",
                                       "output": "Describe the water cycle in detail."}),
    "truncated_output": ("alpaca", {"instruction": "Explain gravity.", "output": CUT}),
    "repetition_loop": ("messages", {"messages": [{"role": "user", "content": "Can you help?"},
                                                  {"role": "assistant", "content": LOOP}]}),
    "language_mismatch": ("alpaca", {"instruction": "请解释一下什么是机器学习。",
                                     "output": "Machine learning is a field of artificial intelligence."}),
    "refusal": ("alpaca", {"instruction": "Tell me a joke.",
                           "output": "As an AI language model, I do not have a sense of humour."}),
}  # fmt: skip


def test_every_response_heuristic_has_an_example():
    assert sorted(HEURISTICS) == sorted(FIRES)


@pytest.mark.parametrize("name", sorted(FIRES))
def test_heuristic_fires_on_its_example_only(name):
    samples = [FIRES[name], *CLEAN]
    findings = run_detectors(NoiseData(list(range(len(samples))), samples=samples), HEURISTICS)
    assert [(f.index, f.detector) for f in findings] == [(0, name)]
    assert 0.0 < findings[0].severity <= 1.0 and findings[0].evidence


def test_an_unclosed_code_fence_is_truncation():
    sample = ("alpaca", {"instruction": "Write code.", "output": "```python\nprint('hi')"})
    findings = run_detectors(NoiseData([0], samples=[sample]), ["truncated_output"])
    assert findings[0].evidence["reason"] == "unclosed code fence"


def test_a_chinese_refusal_is_found():
    sample = ("alpaca", {"instruction": "写一首诗。", "output": "抱歉，我无法完成这个请求。"})
    assert [f.detector for f in run_detectors(NoiseData([0], samples=[sample]), HEURISTICS)] == ["refusal"]
