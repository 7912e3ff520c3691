"""SFT response heuristics: cheap checks of each sample's response against its prompt.

Each heuristic is a detector of the ``response`` family: ``check(prompt, response, settings)``
returns ``(severity, evidence)`` when it fires, else None. Samples without a response (plain
text) are skipped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from difflib import SequenceMatcher
from typing import Any

from workbench.noise.registry import Finding, NoiseData, NoiseSettings, register
from workbench.noise.responses import prompt_and_response

Check = Callable[[str, str, NoiseSettings], tuple[float, dict[str, Any]] | None]

#: Characters of the response quoted in evidence.
QUOTE_CHARS = 200


def response_heuristic(name: str, description: str) -> Callable[[Check], Check]:
    """Register ``check`` as detector ``name``, run over every sample that has a response."""

    def decorate(check: Check) -> Check:
        def detect(data: NoiseData, settings: NoiseSettings) -> list[Finding]:
            findings = []
            for i, (shape, sample) in enumerate(data.samples):
                parts = prompt_and_response(shape, sample)
                fired = None if parts is None else check(parts[0], parts[1], settings)
                if fired is not None:
                    findings.append(Finding(i, name, fired[0], fired[1]))
            return findings

        register(name, family="response", needs=("samples",), description=description)(detect)
        return check

    return decorate


def _squash(text: str) -> str:
    """Lower case, letters and digits only: compares texts regardless of spacing and punctuation."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


@response_heuristic("short_output", "The response is empty or has no letter or digit at all.")
def short_output(prompt: str, response: str, settings: NoiseSettings):
    # One word or digit can be a complete answer ("4", "Paris", "B"); only an answer with
    # nothing in it is flagged.
    stripped = response.strip()
    if not stripped:
        return 0.9, {"response_chars": 0}
    if not any(ch.isalnum() for ch in stripped):
        return 0.6, {"response_chars": len(stripped), "response": stripped[:QUOTE_CHARS]}
    return None


#: Similarity to the instruction from which a response only repeats it. On Alpaca, 0.9 also caught
#: answers that restate the question around a short answer ("The median of {4, 10, 8} is 8.").
REPEAT_RATIO = 0.95


@response_heuristic("repeats_instruction", "The response only repeats the instruction.")
def repeats_instruction(prompt: str, response: str, settings: NoiseSettings):
    a, b = _squash(prompt), _squash(response)
    # ratio() <= 2 * shorter / (sum of lengths): lengths far apart cannot reach the cut.
    if not a or not b or 2 * min(len(a), len(b)) < REPEAT_RATIO * (len(a) + len(b)):
        return None
    ratio = SequenceMatcher(None, a, b, autojunk=False).ratio()
    if ratio < REPEAT_RATIO:
        return None
    return 0.8, {"similarity_to_instruction": round(ratio, 3), "response": response[:QUOTE_CHARS]}


_SENTENCE_END = re.compile(r"[.!?。！？…\n]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.S)


@response_heuristic("truncated_output", "The response stops mid-sentence or leaves a code block open.")
def truncated_output(prompt: str, response: str, settings: NoiseSettings):
    text = response.rstrip()
    if text.count("```") % 2:
        return 0.7, {"reason": "unclosed code fence", "ending": text[-QUOTE_CHARS:]}
    if not text:
        return None
    last_part = _SENTENCE_END.split(text)[-1]
    # A list item or a short answer may end without a full stop; a long unfinished sentence
    # (or a trailing comma, colon, hyphen) is what a cut-off generation leaves.
    dangling = text[-1] in ",:-–(" and len(text) > 40  # not ";": code ends with it
    long_cjk = bool(_CJK.search(text[-1])) and len(last_part) >= 40
    long_latin = text[-1].isalnum() and not _CJK.search(text[-1]) and len(last_part.split()) >= 12
    if dangling or long_cjk or long_latin:
        return 0.6, {"reason": "ends mid-sentence", "ending": text[-QUOTE_CHARS:]}
    return None


@response_heuristic("repetition_loop", "The response repeats the same phrase over and over.")
def repetition_loop(prompt: str, response: str, settings: NoiseSettings):
    cjk_heavy = len(_CJK.findall(response)) > len(response) / 3
    units = [ch for ch in response if not ch.isspace()] if cjk_heavy else response.casefold().split()
    n = 6 if cjk_heavy else 3
    grams = [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]
    if len(grams) < 30:
        return None
    counts = Counter(grams)
    distinct_share = len(counts) / len(grams)
    if distinct_share >= 0.5:
        return None
    gram, times = counts.most_common(1)[0]
    joiner = "" if cjk_heavy else " "
    return 0.7, {
        "distinct_ngram_share": round(distinct_share, 3),
        "most_repeated": joiner.join(gram),
        "times": times,
    }


#: Prompts that ask for another language (translation) legitimately get an answer in it.
_ASKS_FOR_LANGUAGE = re.compile(
    r"translat|(?:in|into|to) (?:english|chinese)|翻译|英文|英语|中文|汉语|日语|韩语",
    re.I,
)


def script_counts(text: str) -> tuple[int, int]:
    """CJK characters and Latin letters of the text outside code blocks."""
    text = _CODE_BLOCK.sub(" ", text)
    return len(_CJK.findall(text)), len(_LATIN.findall(text))


@response_heuristic("language_mismatch", "The response is in another script (CJK vs Latin) than the prompt.")
def language_mismatch(prompt: str, response: str, settings: NoiseSettings):
    # A prompt with some Chinese is a Chinese speaker's, even around English code or names; its
    # answer should have some Chinese too. An English prompt should not get a mostly-CJK answer.
    if _ASKS_FOR_LANGUAGE.search(prompt):
        return None
    prompt_cjk, prompt_latin = script_counts(prompt)
    answer_cjk, answer_latin = script_counts(response)
    if prompt_cjk >= 5 and answer_cjk < 2 and answer_latin >= 20:
        scripts = ("cjk", "latin")
    elif prompt_cjk == 0 and prompt_latin >= 10 and answer_cjk >= 5 and answer_cjk * 3 >= answer_latin:
        scripts = ("latin", "cjk")
    else:
        return None
    return 0.6, {
        "prompt_script": scripts[0],
        "response_script": scripts[1],
        "response": response[:QUOTE_CHARS],
    }


_REFUSALS = re.compile(
    r"as an ai language model|as an ai assistant|as a language model"
    r"|i(?:'?m| am) sorry,? but i (?:cannot|can't|am unable)"
    r"|i (?:cannot|can't) (?:fulfill|assist with|help with) (?:this|that)"
    r"|作为一个?(?:人工智能|ai|AI)(?:语言模型|助手)?|抱歉，我(?:无法|不能)",
    re.I,
)


@response_heuristic("refusal", "The response is refusal or AI-disclaimer boilerplate.")
def refusal(prompt: str, response: str, settings: NoiseSettings):
    match = _REFUSALS.search(response.replace("\u2019", "'"))
    if match is None:
        return None
    at_start = match.start() < 40
    return (0.7 if at_start else 0.5), {
        "phrase": match.group(0),
        "at_start": at_start,
        "response": response[:QUOTE_CHARS],
    }
