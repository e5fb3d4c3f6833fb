"""Page quality in a real Chromium: axe-core, bytes on the wire, the narrowest phone.

``quality(...)`` opens a fresh 360×640 context (CSP bypassed so that axe-core can be
injected; JavaScript on or off) and returns a ``PageCheck`` that loads a URL and measures
what a resident's old phone would get.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: HTML + CSS + JavaScript a public page may transfer (the issue's budget)
BYTE_BUDGET = 50 * 1024
PHONE = {"width": 360, "height": 640}
COUNTED = {"document", "stylesheet", "script"}


@dataclass
class PageCheck:
    page: object
    responses: list = field(default_factory=list)

    def open(self, url: str):
        self.responses.clear()
        response = self.page.goto(url, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        return response

    def bytes_transferred(self) -> dict[str, int]:
        """Body bytes of the HTML, CSS and JavaScript responses since the last open()."""
        sizes: dict[str, int] = {}
        for response in self.responses:
            if response.request.resource_type in COUNTED:
                try:
                    body = response.body()
                except Exception:  # noqa: BLE001 - a redirect has no body
                    continue
                sizes[response.url] = sizes.get(response.url, 0) + len(body)
        return sizes

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than the viewport (0: no sideways scroll)."""
        width = self.page.evaluate("document.documentElement.scrollWidth")
        return max(width - PHONE["width"], 0)

    def axe_violations(self) -> list[str]:
        """axe-core's violations, each as "rule: target, target (help)"; empty when none."""
        if not AXE.exists():
            pytest.fail(f"{AXE} is missing: run `npm ci` (make setup)")
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate("async () => await axe.run(document)")
        return [
            f"{v['id']} [{v['impact']}]: "
            + ", ".join(" ".join(n["target"]) if isinstance(n["target"], list) else
                        str(n["target"]) for n in v["nodes"][:5])
            + f" ({v['help']})"
            for v in result["violations"]
        ]


@pytest.fixture
def quality(browser):
    """quality(javascript=True) → a PageCheck on a fresh 360×640 Japanese phone context."""
    contexts = []

    def _make(javascript: bool = True) -> PageCheck:
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, locale="ja-JP", bypass_csp=True,
                                      java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        check = PageCheck(page)
        page.on("response", lambda response: check.responses.append(response))
        return check

    yield _make
    for context in contexts:
        context.close()
