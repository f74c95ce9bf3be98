"""``rnalabel serve``: the web API and page (FastAPI + uvicorn)."""

from __future__ import annotations

from pathlib import Path

import typer

from rnalabel.cli._common import console, friendly


@friendly
def serve(
    models: list[Path] = typer.Argument(None, help="Model folders or zoo names to serve (run folders, index "
                                        "folders; default: the whole zoo, see `rnalabel models`)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port"),
    max_sequences: int = typer.Option(1000, "--max-sequences", help="Sequences per request."),
    max_length: int = typer.Option(100_000, "--max-length", help="Nucleotides per sequence."),
    max_body: int = typer.Option(5_000_000, "--max-body", help="Request body size in bytes."),
    workers: int = typer.Option(2, "--workers", help="Requests computed at once (the others wait)."),
    mirbase: Path = typer.Option(None, "--mirbase", help="miRBase mature.fa for /rank by name "
                                 "(or $RNALABEL_MIRBASE)."),
) -> None:
    """Serve models over HTTP: a page at /, the API at /predict, /explain, /rank, /models, /health (docs: /docs)."""
    import uvicorn

    from rnalabel.errors import InputError
    from rnalabel.server import Limits, create_app

    if not models:
        from rnalabel.zoo import names

        models = [Path(n) for n in names()]
    if not 0 < port < 65536:
        raise InputError(f"--port must be between 1 and 65535, got {port}.")
    app = create_app(models, limits=Limits(max_sequences=max_sequences, max_length=max_length,
                                           max_body_bytes=max_body, workers=workers), mirbase=mirbase)
    console.print(f"serving {len(app.state.store.bundles)} model(s) at http://{host}:{port}/ (API docs: /docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
