"""axe-core for the browser walk: fetched from the npm registry once, then run in each page.

The page's CSP allows no inline script, so axe is not added as a <script> tag: it is
evaluated through the DevTools protocol (`page.evaluate`), which the CSP does not govern.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_source(cache_dir: Path) -> str:
    """The text of axe.min.js, installed with npm into `cache_dir` when missing.

    Two xdist workers may both find it missing: each installs into its own folder and
    moves it into place in one rename, so neither reads a half-written install.
    """
    prefix = cache_dir / f"axe-core-{AXE_VERSION}"
    script = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to fetch axe-core for the accessibility checks")
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="axe-", dir=cache_dir))
        subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(staging),
             f"axe-core@{AXE_VERSION}"],
            check=True,
            capture_output=True,
            timeout=300,
        )  # fmt: skip
        try:
            staging.rename(prefix)
        except OSError:  # another worker was first; its copy is as good
            shutil.rmtree(staging, ignore_errors=True)
    return script.read_text(encoding="utf-8")


def run_axe(page: Any, source: str) -> list[dict[str, Any]]:
    """The WCAG 2.1 A/AA violations axe finds in the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: tags});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))})); }",
        WCAG_TAGS,
    )
    return list(result)


def describe(violations: list[dict[str, Any]]) -> str:
    """The violations, one block each, for an assertion message."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            lines.append(f"    {node['target']}: {node['summary']}")
    return "\n".join(lines)
