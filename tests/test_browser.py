"""A real browser (Debian's chromium through playwright) on the web page and on report.html.

Skipped when chromium or playwright is missing (``make test`` installs both). Screenshots are saved in the test's
tmp dir (``page.png``, ``report.png``).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, trained_tiny):
    import uvicorn

    from rnalabel.engine.bundle import save_model
    from rnalabel.server import create_app

    d = tmp_path_factory.mktemp("web")
    save_model(trained_tiny, d / "demo")
    app = create_app([d / "demo"])
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(10)


def test_page_predicts_and_explains(browser, server, demo_small, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.goto(server + "/")
    page.wait_for_selector("#model option", state="attached")
    fasta = "".join(f">{i}\n{s}\n" for i, s in zip(demo_small.ids[:5], demo_small.sequences[:5], strict=True))
    fasta += ">long\n" + demo_small.sequences[5] * 4 + "\n"
    page.fill("#fasta", fasta)
    page.click("#run")
    page.wait_for_selector("#results-table tbody tr")
    rows = page.locator("#results-table tbody tr")
    assert rows.count() == 6
    assert "6 sequence(s) scored" in page.inner_text("#status")
    assert page.locator("#tracks svg").count() >= 1  # the long RNA's per-window tracks
    page.click("#results-table th[data-col='PUM2']")  # sorting keeps every row
    assert page.locator("#results-table tbody tr").count() == 6
    page.select_option("#explain-seq", "long")
    page.click("#explain")
    page.wait_for_selector("#explain-img:not([hidden])", timeout=60_000)
    assert page.locator("#explain-seqview span").count() == 101
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    page.fill("#fasta", ">bad\nACGUZ\n")
    page.click("#run")
    page.wait_for_selector("#status.error")
    assert "IUPAC" in page.inner_text("#status")
    page.close()


def test_report_renders(browser, trained_tiny, demo_small, tmp_path):
    from rnalabel.engine.bundle import save_model
    from rnalabel.report.html import write_report

    save_model(trained_tiny, tmp_path / "run")
    demo_small.to_parquet(tmp_path / "data.parquet")
    out = write_report(tmp_path / "run", tmp_path / "report.html", data=tmp_path / "data.parquet")
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(out.resolve().as_uri())
    assert page.locator("#metrics-table tr").count() == 1 + 5
    imgs = page.locator("img")
    assert imgs.count() >= 4
    for i in range(imgs.count()):  # every embedded image decoded
        assert page.evaluate("(img) => img.naturalWidth", imgs.nth(i).element_handle()) > 0
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.close()
