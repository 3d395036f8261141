"""Write the bundled boxes' `demos.jsonl` and the `bio-translate` benchmark, from real runs.

    python bench/make_demos.py            # rewrite boxes/{math,bio}/demos.jsonl and the benchmark
    python bench/make_demos.py --check    # exit 1 when a written file differs from what it would write

Every demo's calls run in a real worker of the bundled box (the same `BoxPool` that
serves it) and the demo keeps the result the tool returned; its answer is read from
that result. Nothing here is typed by hand but the questions and arguments.

Game of 24 demos use puzzles of `game24.csv` outside the test split (rows 900-999).
The `bio-translate` benchmark (mcp_box_server/student/data/bio_translate.jsonl) holds
random coding sequences (seed 24) translated by Biopython's `Seq.translate(to_stop=True)`;
its demos use other sequences (seed 7), so no demo is a test question.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from Bio.Seq import Seq

from mcp_box_server.box import bundled_boxes_dir, read_manifest
from mcp_box_server.box.demos import Demo, DemoCall
from mcp_box_server.runtime import BoxPool
from mcp_box_server.student.benchmarks import BIO_TRANSLATE_PROMPT, GAME24_PROMPT

DATA = Path(__file__).resolve().parent.parent / "mcp_box_server" / "student" / "data"
GAME24_DEMO_ROWS = (333, 480, 150, 611, 777, 12)  # training rows; these first: 47/50 calls right on 800-849
STOPS = ("TAA", "TAG", "TGA")
SENSE = [a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT" if a + b + c not in STOPS]
BENCHMARK_TASKS = 100

# (question, [(function, arguments)], answer from the results)
Spec = tuple[str, list[tuple[str, dict[str, Any]]], Callable[[list[Any]], str]]


def coding_sequence(rng: random.Random) -> str:
    """ATG, 8-16 random sense codons, a stop: a short complete CDS."""
    codons = [rng.choice(SENSE) for _ in range(rng.randint(8, 16))]
    return "ATG" + "".join(codons) + rng.choice(STOPS)


def game24_specs() -> list[Spec]:
    with (DATA / "game24.csv").open(newline="", encoding="utf-8") as handle:
        puzzles = [row["Puzzles"] for row in csv.DictReader(handle)]
    specs: list[Spec] = []
    for row in GAME24_DEMO_ROWS:
        numbers = [int(n) for n in puzzles[row].split()]
        call = ("solve_24", {"numbers": numbers})
        # The answer repeats the observation line whole ("10 + 12 + 4 - 2 = 24"): a base model
        # copies a whole line well and cuts one short when it must stop inside it (Gemma 3 270M
        # answered 49 of 50 right on rows 850-899 this way, 43 of 50 with the bare expression).
        specs.append((GAME24_PROMPT.format(numbers=puzzles[row]), [call], lambda r: r[0]["text"]))
    return specs


MATH_OTHER: list[Spec] = [
    (
        "What is (17 * 23 + 4) / 5?",
        [("evaluate", {"expression": "(17 * 23 + 4) / 5"})],
        lambda r: r[0]["value"],
    ),
    ("Solve 3x - 7 = 11 for x.", [("solve_equation", {"equation": "3x - 7 = 11"})], lambda r: r[0]["text"]),
    (
        "What is the greatest common divisor of 84 and 126?",
        [("gcd", {"numbers": [84, 126]})],
        lambda r: str(r[0]["gcd"]),
    ),
]


def bio_specs() -> list[Spec]:
    rng = random.Random(7)
    specs: list[Spec] = []
    for _ in range(4):
        cds = coding_sequence(rng)
        call = ("translate", {"sequence": cds, "to_stop": True})
        specs.append((BIO_TRANSLATE_PROMPT.format(sequence=cds), [call], lambda r: r[0]["protein"]))
    dna = "".join(rng.choice("ACGT") for _ in range(24))
    question = (
        f"What is the reverse complement of the DNA sequence 5'-{dna}-3'? Answer with the sequence 5'->3'."
    )
    specs.append((question, [("reverse_complement", {"sequence": dna})], lambda r: r[0]["sequence"]))
    dna = "".join(rng.choice("ACGT") for _ in range(40))
    question = f"What is the GC content (in percent) of this sequence? {dna}"
    specs.append((question, [("gc_content", {"sequence": dna})], lambda r: f"{r[0]['gc_percent']:g}"))
    dna = "".join(rng.choice("ACGT") for _ in range(21))
    question = f"Transcribe this DNA coding strand into mRNA: {dna}"
    specs.append((question, [("transcribe", {"sequence": dna})], lambda r: r[0]["rna"]))
    return specs


async def run_specs(box: str, specs: list[Spec]) -> list[Demo]:
    """Run each spec's calls in a real worker of the bundled box; keep what they returned."""
    pool = BoxPool(read_manifest(bundled_boxes_dir() / box))
    await pool.start()
    demos = []
    try:
        for question, calls, answer_of in specs:
            results = [await pool.call(function, arguments) for function, arguments in calls]
            made = [DemoCall(f"{box}_{f}", a, r) for (f, a), r in zip(calls, results, strict=True)]
            demos.append(Demo(question, str(answer_of(results)), tuple(made), box))
    finally:
        await pool.close()
    return demos


def translate_benchmark() -> str:
    rng = random.Random(24)
    lines = []
    for index in range(BENCHMARK_TASKS):
        cds = coding_sequence(rng)
        protein = str(Seq(cds).translate(to_stop=True))
        row = {"id": f"translate-{index:03d}", "question": BIO_TRANSLATE_PROMPT.format(sequence=cds)}
        lines.append(json.dumps(row | {"answer": protein, "scorer": "exact"}))
    return "\n".join(lines) + "\n"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    outputs = {
        bundled_boxes_dir() / "math" / "demos.jsonl": await run_specs("math", game24_specs() + MATH_OTHER),
        bundled_boxes_dir() / "bio" / "demos.jsonl": await run_specs("bio", bio_specs()),
    }
    texts = {path: "".join(d.to_json() + "\n" for d in demos) for path, demos in outputs.items()}
    texts[DATA / "bio_translate.jsonl"] = translate_benchmark()
    stale = []
    for path, text in texts.items():
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}", file=sys.stderr)
    for path in stale:
        print(f"differs from a fresh run: {path}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
