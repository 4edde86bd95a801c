"""What a person does in a freshly opened JupyterLab, in Playwright: a new notebook from the launcher, its kernel
idle, one cell run. Django-free: the browser tests and benchmarks/first_cell.py share it."""

import re

KERNEL_IDLE = re.compile(r"\(ipykernel\) \| Idle")


def first_cell_output(page, code="print(6 * 7)", on_step=lambda step: None):
    """Run `code` in a new notebook and return its output's text; `on_step` hears "lab loaded" (the launcher's
    Notebook card clicked) and "kernel idle"."""
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click(timeout=120_000)
    on_step("lab loaded")
    # The notebook's execution indicator reads "idle" before any kernel exists, and JupyterLab drops an execute
    # request sent while the session is still connecting (the cell keeps "[ ]"). The status bar shows the
    # connected kernel's real state.
    kernel_state = page.locator(".jp-StatusBar-Widget").filter(has_text=KERNEL_IDLE)
    kernel_state.first.wait_for(timeout=120_000)
    on_step("kernel idle")
    editor = page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first
    editor.click()
    page.keyboard.type(code)
    assert code in editor.inner_text()
    output = page.locator(".jp-NotebookPanel .jp-OutputArea-output").first
    for attempt in range(3):
        editor.click()
        page.keyboard.press("Shift+Enter")
        try:
            output.wait_for(timeout=40_000)
            break
        except Exception:
            if attempt == 2:
                page.screenshot(path="/tmp/run-a-cell-failure.png")
                prompt = page.locator(".jp-NotebookPanel .jp-InputPrompt").first.inner_text()
                statuses = page.locator(".jp-StatusBar-Widget").all_inner_texts()
                raise AssertionError(f"no output after 3 runs; prompt {prompt!r}, status {statuses}") from None
    return output.inner_text().strip()
