"""The demo project loaded on first start: 2,000 Alpaca rows (see ATTRIBUTION.md) and task categories."""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
DEMO_FILE = DEMO_DIR / "alpaca_2000.jsonl"
DEMO_PROJECT = "alpaca-demo"
DEMO_DESCRIPTION = (
    "2,000 Stanford Alpaca instruction/response pairs (CC BY-NC 4.0, see workbench/demo/ATTRIBUTION.md). "
    "Label each sample with the kind of task its instruction asks for."
)

#: Task categories in display order (keys 1-9), with the guideline an annotator sees.
DEMO_LABELS: dict[str, str] = {
    "open_qa": "A factual or explanatory question answered from general knowledge.",
    "closed_qa": "A question answered from the given input text only.",
    "brainstorming": "Generate ideas, lists, suggestions or examples.",
    "classification": "Assign a category, sentiment or type to the input.",
    "summarization": "Condense or extract the key points of the input.",
    "rewriting": "Edit, paraphrase, translate, correct or change the style of a text.",
    "creative_writing": "Stories, poems, slogans, dialogues and other original prose.",
    "coding": "Write, explain or fix code, SQL, regular expressions or markup.",
    "math": "Arithmetic, calculation, unit conversion or a word problem.",
}
