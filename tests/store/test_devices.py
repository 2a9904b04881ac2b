"""Device repository: enrollment, the replay guard, ownership and re-keying."""

from __future__ import annotations

from tests.store.conftest import T0, add_device, add_user, later
from twostep.store import Database, devices


def test_a_pending_device_becomes_active_once_and_burns_its_step(
    db: Database, user_id: str
) -> None:
    with db.transaction() as tx:
        device = devices.create_pending(
            tx,
            user_id=user_id,
            name="phone",
            secret_ciphertext=b"sealed",
            key_id="k1",
            at=T0,
            algorithm="SHA256",
            digits=8,
            period=60,
            weak=True,
            device_id="0b5e7d62-6f6e-4a59-8c3f-000000000001",
        )
        assert device.id == "0b5e7d62-6f6e-4a59-8c3f-000000000001"
        assert not devices.advance_step(tx, device.id, 5, T0)  # pending: unusable
        assert devices.count_active(tx, user_id) == 0
        assert devices.confirm(tx, device.id, step=1000, at=later(1))
        assert not devices.confirm(tx, device.id, step=1001, at=later(2))
    with db.transaction(readonly=True) as tx:
        stored = devices.get(tx, device.id)
    assert stored is not None
    assert stored.status == "active" and stored.confirmed_at == later(1)
    assert stored.last_used_step == 1000 and stored.last_used_at == later(1)
    assert (stored.algorithm, stored.digits, stored.period, stored.weak) == ("SHA256", 8, 60, True)
    assert stored.secret_ciphertext == b"sealed" and stored.key_id == "k1"
    with db.transaction() as tx:
        assert not devices.advance_step(tx, device.id, 1000, later(3))  # the confirming code


def test_advance_step_only_moves_forward(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        device_id = add_device(tx, user_id)  # confirmed at step 100
        assert devices.advance_step(tx, device_id, 101, later(30))
        assert not devices.advance_step(tx, device_id, 101, later(31))  # replay
        assert not devices.advance_step(tx, device_id, 100, later(32))  # older
        assert not devices.advance_step(tx, device_id, 50, later(33))
        assert devices.advance_step(tx, device_id, 103, later(90))
        assert not devices.advance_step(tx, device_id, 102, later(91))
        assert not devices.advance_step(tx, "missing", 500, later(92))
        device = devices.get(tx, device_id)
    assert device is not None
    assert device.last_used_step == 103 and device.last_used_at == later(90)


def test_get_list_and_count_respect_the_owner(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        other = add_user(tx, "mallory@example.com").id
        first = add_device(tx, user_id, name="first")
        second = add_device(tx, user_id, active=False, name="second", at=later(1))
        theirs = add_device(tx, other)
        assert devices.get(tx, first, user_id=user_id) is not None
        assert devices.get(tx, theirs, user_id=user_id) is None
        assert devices.get(tx, theirs) is not None
        assert [d.id for d in devices.list_for_user(tx, user_id)] == [first, second]
        assert [d.id for d in devices.list_for_user(tx, user_id, status="active")] == [first]
        assert [d.id for d in devices.list_for_user(tx, user_id, status="pending")] == [second]
        assert devices.count_active(tx, user_id) == 1


def test_rename_and_delete_only_your_own(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        other = add_user(tx, "mallory@example.com").id
        mine = add_device(tx, user_id)
        theirs = add_device(tx, other)
        assert devices.rename(tx, mine, user_id, "work phone")
        assert not devices.rename(tx, theirs, user_id, "stolen")
        assert not devices.delete(tx, theirs, user_id)
        assert devices.delete(tx, mine, user_id)
        assert not devices.delete(tx, mine, user_id)
        add_device(tx, user_id)
        add_device(tx, user_id)
        assert devices.delete_all_for_user(tx, user_id) == 2
        assert devices.count_active(tx, other) == 1
        kept = devices.get(tx, theirs)
    assert kept is not None and kept.name == "phone"


def test_rekeying_finds_old_keys_and_swaps_conditionally(db: Database, user_id: str) -> None:
    with db.transaction() as tx:
        device_id = add_device(tx, user_id)
        assert [d.id for d in devices.list_for_rekey(tx, current_key_id="k2")] == [device_id]
        assert devices.list_for_rekey(tx, current_key_id="k1") == []
        assert devices.replace_secret(
            tx, device_id, ciphertext=b"resealed", key_id="k2", expected_key_id="k1"
        )
        assert not devices.replace_secret(
            tx, device_id, ciphertext=b"stale", key_id="k3", expected_key_id="k1"
        )
        device = devices.get(tx, device_id)
    assert device is not None
    assert (device.secret_ciphertext, device.key_id) == (b"resealed", "k2")
