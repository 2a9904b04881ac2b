"""The whole API, fuzzed while signed in: no 5xx, every status documented, every body valid.

A user and an admin, both with an active authenticator and an elevated session, drive every
operation; path parameters are real ids (their own device and session, a target user), so
the fuzz reaches the services instead of stopping at 401 and 404. Each operation runs the
explicit examples, positive and negative generated cases, all seeded (``derandomize``) so CI
is reproducible. Every check runs except "schema-valid input is accepted": rules such as the
password policy cannot be written in JSON Schema, so their 422 answers are correct.

Operations that end or disarm the fuzzing sessions (logout, revoking sessions, turning 2FA
off, admin actions on the admin's own account) run in a second pass with fresh sessions.
A stateful pass then follows the links schemathesis infers between operations (a device
created, then renamed and removed; a user listed, then read and acted on), as the admin.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.meta import TestPhase
from schemathesis.generation.overrides import Override

from tests.web.conftest import T0, Api
from tests.web.people import Person, enrolled
from twostep.clock import ManualClock
from twostep.config import Settings
from twostep.mail import MemoryMailer
from twostep.security import Keyring
from twostep.services.context import build_context
from twostep.web.app import create_app

EXAMPLES_PER_OPERATION = 25
COVERAGE_PER_OPERATION = 60
ENDS_SESSIONS = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/me/sessions/revoke-others"),
    ("DELETE", "/api/v1/me/sessions/{session_id}"),
    ("POST", "/api/v1/2fa/disable"),
    ("DELETE", "/api/v1/2fa/devices/{device_id}"),
    ("POST", "/api/v1/admin/users/{user_id}/role"),
    ("POST", "/api/v1/admin/users/{user_id}/active"),
    ("POST", "/api/v1/admin/users/{user_id}/reset-2fa"),
    ("POST", "/api/v1/admin/users/{user_id}/revoke-sessions"),
}


@dataclass
class Cast:
    api: Api
    user: Person
    admin: Person
    target: Person


@pytest.fixture(scope="module")
def cast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    data = Path(tmp_path_factory.mktemp("fuzz-signed-in"))
    config = Settings(
        data_dir=data,
        public_url="https://auth.example.test",
        login_rate_per_minute=1_000_000,
        account_rate_per_minute=1_000_000,
    )
    clock, mailer = ManualClock(T0), MemoryMailer()
    ctx = build_context(config, clock=clock, mailer=mailer,
                        keyring=Keyring.generate(signing=True))  # fmt: skip
    app = create_app(config, context=ctx)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        api = Api(client, clock, mailer, config)
        yield Cast(
            api,
            enrolled(api, "user@example.com"),
            enrolled(api, "admin@example.com", admin=True),
            enrolled(api, "target@example.com"),
        )


def _ids(cast: Cast, who: Person) -> dict[str, list[str]]:
    """Real values for each path parameter: the caller's own objects and the target's."""
    return {
        "device_id": [who.device_id, cast.target.device_id],
        "session_id": [who.session_id, cast.target.session_id],
        "user_id": [cast.target.id, who.id, cast.user.id],
        "browser_id": ["00000000-0000-4000-8000-000000000000"],  # none is remembered here
    }


def _fuzz(cast: Cast, operations: list[Any]) -> int:
    """Run every phase over ``operations`` (admin ones as the admin); the cases sent."""
    return sum(
        _fuzz_one(cast, op, cast.admin if "/admin/" in op.path else cast.user) for op in operations
    )


def _fuzz_one(cast: Cast, operation: Any, who: Person) -> int:
    """Examples, generated and coverage cases for one operation as ``who``."""
    sent = 0
    headers = {"Authorization": f"Bearer {who.token}"}
    ids = _ids(cast, who)
    names = [p.name for p in operation.path_parameters]
    strategies = [
        operation.as_strategy(phase=TestPhase.EXAMPLES),
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]

    def run(case: Any, pick: int) -> None:
        nonlocal sent
        invalid = {
            location
            for location, info in case.meta.components.items()
            if info.mode == GenerationMode.NEGATIVE
        }
        # Mostly real ids; sometimes, or when the path is the invalid part, as generated.
        if names and pick < 3 and ParameterLocation.PATH not in invalid:
            case.path_parameters = {n: ids[n][pick % len(ids[n])] for n in names}
        signed_in = {} if ParameterLocation.HEADER in invalid else headers
        case.call_and_validate(
            session=cast.api.client, headers=signed_in,
            excluded_checks=[positive_data_acceptance],
        )  # fmt: skip
        sent += 1

    @given(case=st.one_of(strategies), pick=st.integers(0, 3))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
        derandomize=True, suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def check(case: Any, pick: int) -> None:
        run(case, pick)

    check()
    for i, case in enumerate(islice(_coverage(operation), COVERAGE_PER_OPERATION)):
        run(case, i % 4)
    return sent


def _coverage(operation: Any) -> Iterator[Any]:
    """The coverage phase's deterministic cases: boundaries, missing and wrong-typed parts."""
    config = operation.schema.config.generation_for(operation=operation, phase="coverage")
    return iter(
        CoverageGenerator(
            operation=operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=config,
            auth_storage=None,
            override=Override(),
            feedback=FeedbackSources(),
        )
    )


def _schema(cast: Cast) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", cast.api.client.app)


def test_the_signed_in_api_holds_up_under_fuzzing(cast: Cast) -> None:
    started = time.monotonic()
    schema = _schema(cast)
    everything = [result.ok() for result in schema.get_all_operations()]
    main = [op for op in everything if (op.method.upper(), op.path) not in ENDS_SESSIONS]
    assert len(everything) >= 30 and len(main) == len(everything) - len(ENDS_SESSIONS)
    sent = _fuzz(cast, main)
    print(f"main pass: {len(main)} operations, {sent} cases, {time.monotonic() - started:.1f}s")


def test_operations_that_end_sessions_run_last_with_fresh_sessions(cast: Cast) -> None:
    started = time.monotonic()
    schema = _schema(cast)
    closing = [
        result.ok()
        for result in schema.get_all_operations()
        if (result.ok().method.upper(), result.ok().path) in ENDS_SESSIONS
    ]
    assert len(closing) == len(ENDS_SESSIONS)
    sent = 0
    for i, operation in enumerate(closing):
        # New accounts for each: the last operation may have signed them out, turned 2FA
        # off or locked them. Admin actions target the target user and the admin itself.
        cast.user = enrolled(cast.api, f"user-{i}@example.com")
        cast.admin = enrolled(cast.api, f"admin-{i}@example.com", admin=True)
        sent += _fuzz(cast, [operation])
    print(f"closing pass: {len(closing)} operations, {sent} cases, "
          f"{time.monotonic() - started:.1f}s")  # fmt: skip


STATEFUL_STEPS = 20
STATEFUL_SCENARIOS = 40


def test_stateful_workflows_hold_up(cast: Cast) -> None:
    """Chains of calls fed by earlier answers: every step documented, valid, never a 5xx."""
    started = time.monotonic()
    cast.admin = enrolled(cast.api, "stateful-admin@example.com", admin=True)
    headers = {"Authorization": f"Bearer {cast.admin.token}"}
    client = cast.api.client
    steps = 0
    workflow: Any = _schema(cast).as_state_machine()

    class SignedIn(workflow):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"session": client, "headers": headers}

        def after_call(self, response: Any, case: Any) -> None:
            nonlocal steps
            steps += 1
            super().after_call(response, case)

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(
                response, excluded_checks=[positive_data_acceptance], transport_kwargs=kwargs
            )

    assert len(SignedIn.bundles) >= 3  # links were inferred: devices, users, sessions
    SignedIn.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS, deadline=None,
            database=None, derandomize=True, suppress_health_check=list(HealthCheck),
        )
    )  # fmt: skip
    assert steps >= STATEFUL_SCENARIOS
    print(f"stateful pass: {steps} calls, {time.monotonic() - started:.1f}s")
