"""Screenshots of the web page and of the HTML report for the README (docs/page.png, docs/report.png).

Needs a demo run folder (``make run`` writes runs/demo), playwright and Debian's chromium (``make browser``).
The server runs on 127.0.0.1 in this process; the page is fed the demo's transcripts (FASTA) and one is explained.

Usage::

    python docs/screenshots.py --run runs/demo
"""

from __future__ import annotations

import argparse
import shutil
import socket
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, default=Path("runs/demo"))
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--width", type=int, default=1100)
    args = ap.parse_args()

    import uvicorn
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from rnalabel.data.synthetic import make_demo_transcripts
    from rnalabel.server import create_app

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is missing: make browser")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    srv = uvicorn.Server(uvicorn.Config(create_app([args.run]), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.05)
    ids, seqs, _ = make_demo_transcripts(seed=1)  # the demo's long transcripts (planted motifs), as it scans them
    fasta = "".join(f">{i}\n{q}\n" for i, q in zip(ids[:3], seqs[:3], strict=True))
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = b.new_page(viewport={"width": args.width, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#model option", state="attached")
        page.fill("#fasta", fasta)
        page.click("#run")
        page.wait_for_selector("#results-table tbody tr")
        page.click("#explain")
        page.wait_for_selector("#explain-img:not([hidden])", timeout=120_000)
        shots = {"page.png": page}
        page.screenshot(path=str(args.out / "page.png"), full_page=True)
        rep = b.new_page(viewport={"width": args.width, "height": 900})
        rep.goto((args.run / "report.html").resolve().as_uri())
        rep.screenshot(path=str(args.out / "report.png"), full_page=False)
        shots["report.png"] = rep
        b.close()
    srv.should_exit = True
    for name in shots:  # small PNGs for the repository: at most 900 px wide, 256 colours
        path = args.out / name
        im = Image.open(path).convert("RGB")
        if im.width > 900:
            im = im.resize((900, round(im.height * 900 / im.width)), Image.LANCZOS)
        im.quantize(256).save(path, optimize=True)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} kB, {im.width}x{im.height})")


if __name__ == "__main__":
    main()
