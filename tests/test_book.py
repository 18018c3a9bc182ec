"""The book's chapters: executing a chapter twice gives identical outputs (reproducibility)."""

from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"


def executed_outputs(path):
    """Every output of every cell, streams joined (the kernel may split them anywhere).

    Cells tagged ``timing`` measure time on this machine and are left out: everything else
    must come out the same.
    """
    notebook = jupytext.read(path)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = []
    for cell in notebook.cells:
        if "timing" in cell.get("metadata", {}).get("tags", []):
            continue
        stdout = "".join(out["text"] for out in cell.get("outputs", [])
                         if out["output_type"] == "stream" and out["name"] == "stdout")
        if stdout:
            outputs.append({"stdout": stdout})
        for out in cell.get("outputs", []):
            if out["output_type"] != "stream":    # stderr: progress bars, which carry timings
                outputs.append({k: v for k, v in out.items() if k not in ("execution_count", "metadata")})
    return outputs


def test_only_chapter_2s_cost_measurement_is_left_out():
    """The ``timing`` tag marks what cannot repeat; it must not spread to cells that can."""
    tagged = [cell.source for chapter in ("01_memory_task.md", "02_frn_bptt.md")
              for cell in jupytext.read(CHAPTERS / chapter).cells
              if "timing" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and "bptt_cost(" in tagged[0]


@pytest.mark.parametrize("chapter", ["01_memory_task.md", "02_frn_bptt.md"])
def test_two_executions_print_the_same(chapter):
    first = executed_outputs(CHAPTERS / chapter)
    assert first, "the chapter produced no output"
    assert executed_outputs(CHAPTERS / chapter) == first
