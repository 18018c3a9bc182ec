"""The book's chapters: executing a chapter twice gives identical outputs (reproducibility)."""

from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"


def executed_outputs(path):
    notebook = jupytext.read(path)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream" and out["name"] == "stderr":
                continue  # progress bars carry timings
            outputs.append({k: v for k, v in out.items() if k not in ("execution_count", "metadata")})
    return outputs


@pytest.mark.parametrize("chapter", ["01_memory_task.md", "02_frn_bptt.md"])
def test_two_executions_print_the_same(chapter):
    first = executed_outputs(CHAPTERS / chapter)
    assert first, "the chapter produced no output"
    assert executed_outputs(CHAPTERS / chapter) == first
