"""`siamese serve --gallery G`: the HTTP service (`siamese.service`) on HOST:PORT, until stopped."""

from __future__ import annotations


def run(args) -> int:
    import uvicorn

    from siamese.gallery import Gallery
    from siamese.service import KeyStore, Limits, create_app

    gallery = Gallery.open_or_create(args.gallery, args.model)
    keys = KeyStore(args.gallery)
    limits = Limits(max_request_bytes=int(args.max_request_mb * 1024 * 1024), max_pixels=args.max_pixels)
    app = create_app(gallery, keys, limits)
    print(
        f"serving {args.gallery} ({len(gallery.identities())} identities, model {gallery.model.model_id[:12]} "
        f"on {gallery.model.engine}) at http://{args.host}:{args.port}/",
        flush=True,
    )
    if not keys.list():
        print(f"no API keys yet: siamese keys create --gallery {args.gallery} NAME [--write]", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        gallery.close()
        keys.close()
    return 0
