"""Print the size of every prompt the project renders, at its worst case, in Llama-2 tokens.

BioMedGPT-LM-7B's tokenizer is Llama-2's (tests/fixtures/llama2_tokenizer); prompts are
rendered by ``ChatBioMedGPT`` in the BioMedGPT chat format on a 1-layer random Llama that
carries that tokenizer, exactly as for the real checkpoint (tests/helpers/prompt_budget.py;
tests/test_prompt_budget.py asserts the same rows). Budget: prompt + reserved answer
tokens <= 2,048 - 256.

Run: ``.venv/bin/python benchmarks/prompt_sizes.py`` (about 15 s).
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.helpers

from tests.helpers.prompt_budget import LIMIT, build_llama2_checkpoint, measure  # noqa: E402

from biomed_agent.models.chat_model import ChatBioMedGPT  # noqa: E402


def main() -> int:
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        chat = ChatBioMedGPT(model=str(build_llama2_checkpoint(Path(tmp))), device_map="cpu")
        print(f"| prompt (worst case) | prompt tokens | reserved | total (<= {LIMIT}) |")
        print("|---|---|---|---|")
        worst = 0
        for row in measure(chat):
            worst = max(worst, row.total)
            mark = "" if row.total <= LIMIT else " **over**"
            print(f"| {row.name} | {row.tokens:,} | {row.reserved} | {row.total:,}{mark} |")
        print(f"\nlargest total {worst:,} of {LIMIT:,} ({LIMIT - worst:,} to spare beyond 256)")
        return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
