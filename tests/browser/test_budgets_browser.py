"""The page-weight benchmark's byte check (``bench/pages.py --check-bytes``) in CI: the
coordinator's journey in Chromium in French, English and Arabic, every byte budget met."""

import os
import subprocess
import sys

import pytest

from ..conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))

import pages  # noqa: E402


@pytest.mark.browser
def test_the_journey_in_three_languages_meets_every_byte_budget(demo_server):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "pages.py"), "--check-bytes"]
        + ["--url", demo_server.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "every byte budget met" in output
    for language in ("fr", "en", "ar"):
        assert "== %s (no throttling)" % language in output
    for step in ("sign-in cold", "dashboard cold", "dashboard warm"):
        assert output.count(step) == 3, output


def _journey(rows, fragments=()):
    journey = type("Journey", (), {})()
    journey.rows = rows
    journey.fragments = list(fragments)
    return journey


def _row(page, total, requests=1, scripts=0):
    return {"page": page, "total": total, "requests": requests, "scripts": scripts}


def test_the_check_fails_when_a_budget_is_broken():
    """The checker the benchmark exits on flags each kind of overrun (and nothing else)."""
    within = _journey(
        [
            _row("sign-in cold", 9_999, requests=2),
            _row("dashboard cold", 29_999, requests=4, scripts=1),
            _row("dashboard warm", 7_999),
        ],
        [{"request": "POST /x", "bytes": 2_999, "status": 200}],
    )
    assert pages.check_budgets("fr", within) == []
    over = _journey(
        [
            _row("sign-in cold", 10_000, requests=3, scripts=1),
            _row("dashboard cold", 20_000, requests=5),
            _row("dashboard warm", 8_000, requests=2),
        ],
        [{"request": "POST /x", "bytes": 3_000, "status": 200}],
    )
    problems = pages.check_budgets("ar", over)
    assert len(problems) == 6, problems
    assert any("sign-in cold: 1 scripts" in p for p in problems)
    assert any("fragment POST /x" in p for p in problems)
