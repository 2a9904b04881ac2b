"""WebAuthn repository: credentials, the forward-only signature counter, user handles and
single-use passkey challenges."""

from __future__ import annotations

import threading
from typing import Any

from tests.store.conftest import T0, add_device, add_user, later
from twostep.store import Database, devices, principals, sessions, webauthn


def add_key(tx: Any, user_id: str, credential_id: str = "Y3JlZC0x", count: int = 0) -> str:
    stored = webauthn.create(
        tx, user_id=user_id, credential_id=credential_id, public_key=b"\xa5cose", sign_count=count,
        transports=["usb", "nfc"], name="YubiKey", aaguid=None, backed_up=False,
        discoverable=True, at=T0,
    )  # fmt: skip
    assert stored is not None
    return stored.id


def test_a_credential_id_is_registered_once_whoever_tries(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        row = add_key(tx, user_id)
        bob = add_user(tx, "bob@example.com")
        again = webauthn.create(
            tx, user_id=bob.id, credential_id="Y3JlZC0x", public_key=b"x", sign_count=0,
            transports=[], name="stolen", aaguid=None, backed_up=False, discoverable=None,
            at=T0,
        )  # fmt: skip
        assert again is None
        found = webauthn.get_by_credential_id(tx, "Y3JlZC0x")
        assert found is not None and found.id == row and found.user_id == user_id
        assert found.transports == ("usb", "nfc") and found.public_key == b"\xa5cose"
        assert webauthn.get(tx, row, user_id=bob.id) is None  # another user's row is none


def test_the_counter_only_moves_forward(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        row = add_key(tx, user_id, count=5)
        assert not webauthn.advance_sign_count(tx, row, 5, later(1))  # the same count: replay
        assert not webauthn.advance_sign_count(tx, row, 4, later(1))  # backwards: a clone
        assert not webauthn.advance_sign_count(tx, row, 0, later(1))  # a counter never resets
        assert webauthn.advance_sign_count(tx, row, 6, later(2))
        stored = webauthn.get(tx, row, user_id=user_id)
    assert stored is not None and stored.sign_count == 6 and stored.last_used_at == later(2)


def test_a_key_without_a_counter_stays_at_zero(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        row = add_key(tx, user_id)
        assert webauthn.advance_sign_count(tx, row, 0, later(1))
        assert webauthn.advance_sign_count(tx, row, 0, later(2))


def test_parallel_uses_of_one_count_succeed_once(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        row = add_key(tx, user_id, count=1)
    results: list[bool] = []
    start = threading.Barrier(6)

    def use() -> None:
        start.wait()
        with db.transaction() as tx:
            results.append(webauthn.advance_sign_count(tx, row, 2, later(1)))

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_a_key_turns_two_factor_on_like_an_app(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        session = sessions.create(
            tx, user_id=user_id, refresh_hash="h" * 64, at=T0, expires_at=later(3600), amr=["pwd"]
        )
        assert devices.count_active(tx, user_id) == 0
        row = add_key(tx, user_id)
        assert devices.count_active(tx, user_id) == 1 and devices.count_totp(tx, user_id) == 0
        add_device(tx, user_id)
        assert devices.count_active(tx, user_id) == 2
        live = principals.get_live(tx, session.id, later(1))
        assert live is not None and live.two_factor
        assert webauthn.delete(tx, row, user_id) and devices.count_active(tx, user_id) == 1


def test_a_user_handle_is_made_once_and_leads_back(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        handle = webauthn.user_handle(tx, user_id, new_handle="aGFuZGxl", at=T0)
        assert webauthn.user_handle(tx, user_id, new_handle="b3RoZXI", at=T0) == handle
        assert webauthn.user_for_handle(tx, handle) == user_id
        assert webauthn.user_for_handle(tx, "b3RoZXI") is None


def test_a_passkey_challenge_is_used_once_and_only_in_time(db: Database) -> None:
    with db.transaction() as tx:
        first = webauthn.create_passkey_challenge(tx, at=T0, expires_at=later(300))
        late = webauthn.create_passkey_challenge(tx, at=T0, expires_at=later(300))
        assert webauthn.complete_passkey_challenge(tx, first, later(1))
        assert not webauthn.complete_passkey_challenge(tx, first, later(2))
        assert not webauthn.complete_passkey_challenge(tx, late, later(300))
        assert not webauthn.complete_passkey_challenge(tx, "unknown", later(1))
        assert webauthn.delete_expired_passkey_challenges(tx, later(301)) == 2
