"""`siamese keys create|list|revoke --gallery G [NAME]`: the service's API keys (only hashes are kept)."""

from __future__ import annotations

import datetime
import sys


def run(args) -> int:
    from siamese.gallery import Gallery
    from siamese.service import KeyStore

    if args.action == "create":
        Gallery.open_or_create(args.gallery, args.model).close()
    keys = KeyStore(args.gallery)
    try:
        if args.action == "create":
            key = keys.create(args.name, can_write=args.write)
            print(key)  # alone on stdout, so KEY=$(siamese keys create ...) holds the key and nothing else
            print(
                f"(key {args.name!r}, {'read and write' if args.write else 'read only'}; shown once, only its hash is kept)",
                file=sys.stderr,
            )
        elif args.action == "revoke":
            keys.revoke(args.name)
            print(f"key {args.name!r} revoked")
        else:
            for key in keys.list():
                state = "revoked" if key.revoked else ("read and write" if key.can_write else "read only")
                print(f"{key.name}  {state}  created {datetime.datetime.fromtimestamp(key.created):%Y-%m-%d %H:%M}")
    finally:
        keys.close()
    return 0
