"""Data for ``http_api.py``, made by the source tree under test (run as a subprocess).

``http_api.py`` can measure two source trees in one invocation (``--tree-before``). Each
tree's server runs its own ``twostep`` (``PYTHONPATH=TREE/src``), so each tree's database is
also migrated and seeded by that tree's code, its tokens minted by that tree's signer: this
script runs with the same ``PYTHONPATH`` and the same ``TWOSTEP_*`` environment as the
server, and talks to ``http_api.py`` through files of one line per account.

    _prepare.py seed URL --keyring FILE --out DIR --set NAME:COUNT:SAMPLE ...
        migrate URL, create the keyring FILE if missing, seed each set of COUNT accounts
        (emails NAME0@example.com ...), write DIR/NAME.tsv with SAMPLE of them spread over
        the set (user id, email, session id, hex key, access token); print the seeding time
        of each set as JSON
    _prepare.py seen URL
        mark every session seen now (no request then pays the last-seen write)
    _prepare.py challenges URL --users FILE --out FILE
        open one login challenge (password step passed) for each user id in FILE, shaped as
        ``services.login.after_first_factor`` opens one; write their ids, one a line
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _setup import PASSWORD, insert_rows, seed, seed_ids, seeding_database
from sqlalchemy import update

from twostep.config import Settings
from twostep.security import Keyring, PasswordHasher
from twostep.security.tokens import TokenSigner
from twostep.store import challenges, migrate, tables


def seed_sets(url: str, keyring_path: Path, out: Path, sets: list[str]) -> dict[str, Any]:
    settings = Settings()
    migrate.upgrade(url)
    if not keyring_path.exists():
        Keyring.generate(signing=True).save(keyring_path)
    keyring = Keyring.load(str(keyring_path))
    signer = TokenSigner.ed25519(
        keyring, issuer=settings.token_issuer, audience=settings.token_audience, ttl_seconds=7200
    )
    password_hash = PasswordHasher().hash(PASSWORD)
    report: dict[str, Any] = {}
    with seeding_database(url) as db:
        for spec in sets:
            name, count_text, sample_text = spec.split(":")
            count, sample = int(count_text), int(sample_text)
            at = datetime.now(UTC)
            started = time.perf_counter()
            accounts = seed(db, keyring, count=count, at=at, password_hash=password_hash,
                            prefix=name)  # fmt: skip
            seconds = time.perf_counter() - started
            every = max(1, count // max(1, sample))
            chosen = accounts[::every][:sample]
            lines = []
            for a in chosen:
                token = signer.issue(
                    subject=a.user_id, session_id=a.session_id, amr=["pwd"], auth_time=at, now=at
                ).token
                lines.append(f"{a.user_id}\t{a.email}\t{a.session_id}\t{a.key.hex()}\t{token}\n")
            (out / f"{name}.tsv").write_text("".join(lines))
            report[name] = {"count": count, "sample": len(chosen), "seconds": seconds}
    return report


def mark_seen(url: str) -> None:
    with seeding_database(url) as db, db.transaction() as tx:
        tx.execute(update(tables.sessions).values(last_seen_at=datetime.now(UTC)))


def open_challenges(url: str, users_file: Path, out: Path) -> int:
    """Rows as ``challenges.create`` writes them for a login (``after_first_factor``)."""
    settings = Settings()
    user_ids = users_file.read_text().split()
    at = datetime.now(UTC)
    expires_at = at + timedelta(seconds=settings.challenge_seconds)
    methods, amr = ["totp"], ["pwd"]
    ids = seed_ids(len(user_ids))
    rows: list[dict[str, Any]] = [
        {"id": challenge_id, "user_id": user_id, "purpose": "login", "methods": methods,
         "amr": amr, "session_id": None, "created_at": at, "expires_at": expires_at,
         "attempts": 0, "ip": "127.0.0.1", "user_agent": "wrk", "completed_at": None}
        for challenge_id, user_id in zip(ids, user_ids, strict=True)
    ]  # fmt: skip
    with seeding_database(url) as db:
        with db.transaction() as tx:
            insert_rows(tx, tables.challenges, rows)
        with db.transaction(readonly=True) as tx:
            for row in {0, len(rows) - 1} if rows else ():
                got = challenges.get(tx, rows[row]["id"])
                if got is None or got.user_id != rows[row]["user_id"] or not got.is_open(at):
                    raise RuntimeError("a challenge does not read back through the repository")
    out.write_text("".join(f"{challenge_id}\n" for challenge_id in ids))
    return len(ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = commands.add_parser("seed")
    seeding.add_argument("url")
    seeding.add_argument("--keyring", type=Path, required=True)
    seeding.add_argument("--out", type=Path, required=True)
    seeding.add_argument("--set", dest="sets", action="append", required=True)
    seen = commands.add_parser("seen")
    seen.add_argument("url")
    opening = commands.add_parser("challenges")
    opening.add_argument("url")
    opening.add_argument("--users", type=Path, required=True)
    opening.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "seed":
        print(json.dumps(seed_sets(args.url, args.keyring, args.out, args.sets)))
    elif args.command == "seen":
        mark_seen(args.url)
    else:
        print(json.dumps({"challenges": open_challenges(args.url, args.users, args.out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
