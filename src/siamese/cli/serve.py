"""`siamese serve --gallery G`: the HTTP service (`siamese.service`) on HOST:PORT, until stopped.

One process by default; `--workers N` has uvicorn start N processes on the one port, each
with its own gallery connection and ONNX Runtime session, and Prometheus's multi-process mode.
An inference runs on `--threads` threads, default one: the service's parallelism is its
requests (one inference per core at once, `siamese.service.uploads`), not threads that
several inferences would fight over.
"""

from __future__ import annotations

import os
import shutil
import tempfile


def _config(args):
    from siamese.errors import ConfigError
    from siamese.service import Limits
    from siamese.service.factory import ServiceConfig
    from siamese.service.rate import RateLimit

    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {args.threads}")
    if args.rate:
        RateLimit(args.rate)  # a bad rate is refused here, before any worker starts
    if args.liveness_model is not None and args.liveness != "off":
        from siamese.inference.liveness import load_liveness

        load_liveness(args.liveness_model)  # a missing or foreign liveness model too
    pixels = {} if args.max_pixels is None else {"max_pixels": args.max_pixels}
    limits = Limits(max_request_bytes=int(args.max_request_mb * 1024 * 1024), **pixels)
    gallery = getattr(args.gallery, "url", str(args.gallery))  # the workers connect with the password, if any
    return ServiceConfig(
        gallery=gallery,
        model=args.model,
        limits=limits,
        rate=args.rate,
        access_log=args.access_log,
        liveness=args.liveness,
        liveness_model=args.liveness_model,
    )


def run(args) -> int:
    import uvicorn

    from siamese.gallery import Gallery
    from siamese.service import KeyStore
    from siamese.service.factory import CONFIG_VARIABLE, open_service
    from siamese.service.liveness import default_mode

    config = _config(args)
    threads = args.threads or 1
    os.environ["SIAMESE_ONNX_THREADS"] = str(threads)  # read when the model is loaded, here and in each worker
    gallery = Gallery.open_or_create(args.gallery, args.model)
    keys = KeyStore(args.gallery)
    processes = "" if args.workers == 1 else f", {args.workers} workers of {threads} ONNX threads"
    liveness = config.liveness or default_mode(gallery)
    print(
        f"serving {args.gallery} ({len(gallery.identities())} identities, model {gallery.model.model_id[:12]} "
        f"on {gallery.model.engine}{processes}, liveness {liveness}) at http://{args.host}:{args.port}/",
        flush=True,
    )
    if not keys.list():
        print(f"no API keys yet: siamese keys create --gallery {args.gallery} NAME [--write]", flush=True)
    keys.close()
    if args.workers == 1:
        uvicorn.run(open_service(config, gallery), host=args.host, port=args.port, log_level="warning")
        return 0
    gallery.close()  # each worker opens its own
    os.environ[CONFIG_VARIABLE] = config.to_json()
    own_metrics = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own_metrics:  # the workers' metrics files, for this run only
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="siamese-metrics-")
    try:
        uvicorn.run(
            "siamese.service.factory:app_from_environment",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_level="warning",
        )
    finally:
        if own_metrics:
            shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    return 0
