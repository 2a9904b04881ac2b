#!/usr/bin/env python3
"""Break each security invariant of DESIGN §4 on purpose and check that some test notices.

Run by hand, not by the suite::

    .venv/bin/python scripts/mutate.py                 # every mutant, SQLite only
    .venv/bin/python scripts/mutate.py --postgres      # PostgreSQL cases too
    .venv/bin/python scripts/mutate.py --only enroll   # mutants whose name contains "enroll"
    .venv/bin/python scripts/mutate.py --list          # the table, without running anything

Each mutant is one literal text replacement in one source file, paired with the few test
modules that should catch it. The working tree is never touched: ``git archive REF`` is
unpacked into a temporary directory, each mutant is applied to that copy, the chosen tests
run there with the project's ``.venv`` (``PYTHONPATH`` puts the copy's ``src`` first, and
the script checks that ``twostep`` really is imported from the copy), and the file is put
back before the next mutant. A mutant whose search text is missing (or appears more than
once) is reported as ``stale``, never skipped: the table must follow the code.

Results: ``killed`` (the tests failed), ``survived`` (they passed: a missing test),
``stale``, ``timeout``, ``error`` (pytest could not run, e.g. a collection error). The
exit status is 0 only when every mutant was killed. ``--overlay FILE`` copies a working-tree
file (say, a test not yet committed) over the copy first.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


@dataclass(frozen=True)
class Mutant:
    name: str
    invariant: str  # the DESIGN §4 item it breaks
    path: str  # relative to the repository root
    search: str
    replace: str
    tests: tuple[str, ...]


S = "src/twostep/"
# fmt: off
MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "replay-step-guard-dropped", "4.1", S + "store/devices.py",
        "        totp_devices.c.last_used_step.is_(None)\n"
        '        | (totp_devices.c.last_used_step < bindparam("step", type_=Integer)),\n',
        "",
        ("tests/store/test_devices.py", "tests/services/test_login.py"),
    ),
    Mutant(
        "totp-ignores-after-step", "4.1", S + "otp/totp.py",
        'if compare(f"{value:0{digits}d}", candidate) and counter > floor:',
        'if compare(f"{value:0{digits}d}", candidate):',
        ("tests/otp/test_totp.py",),
    ),
    Mutant(
        "backup-consume-ignores-used-at", "4.2", S + "store/backup_codes.py",
        "            backup_codes.c.used_at.is_(None),\n        )\n        .values(used_at=at)",
        "        )\n        .values(used_at=at)",
        ("tests/store/test_backup_codes.py", "tests/services/test_backup_codes.py"),
    ),
    Mutant(
        "backup-code-stored-unhashed", "4.2", S + "services/factors.py",
        'return keyed_hash(ctx.keyring.pepper, f"backup:{normalized}")',
        'return f"backup:{normalized}"',
        ("tests/services/test_dump.py", "tests/services/test_backup_codes.py"),
    ),
    Mutant(
        "factor-failure-not-counted", "4.3", S + "services/factors.py",
        "    attempt = lockout.reserve(tx, key, at, policy)  # count the failure (§4.3)\n",
        "    attempt = lockout.reserve(tx, key, at, policy)\n"
        "    lockout.succeed(tx, key)  # the failure is forgotten at once\n",
        ("tests/services/test_login.py", "tests/services/test_step_up.py"),
    ),
    Mutant(
        "factor-lock-ignored", "4.3", S + "services/factors.py",
        "    if state.failures(at) >= policy.threshold:  # locked, or at a lowered threshold\n",
        "    if False:\n",
        ("tests/services/test_login.py", "tests/services/test_step_up.py"),
    ),
    Mutant(
        "enroll-failure-not-counted", "4.3", S + "services/enrollment.py",
        "            if attempt.is_last:\n                raise Refusal(attempt.refusal(at))\n",
        "            lockout.succeed(tx, key)  # the reservation is handed back\n"
        "            if attempt.is_last:\n                raise Refusal(attempt.refusal(at))\n",
        ("tests/services/test_enrollment.py",),
    ),
    Mutant(
        "enroll-lock-ignored", "4.3", S + "services/enrollment.py",
        "        if not attempt.allowed:\n            raise Refusal(attempt.refusal(at))\n",
        "        if False:\n            raise Refusal(attempt.refusal(at))\n",
        ("tests/services/test_enrollment.py",),
    ),
    Mutant(
        "lock-threshold-off-by-one", "4.3", S + "store/throttles.py",
        "lock_now = and_(not_(locked), failures >= threshold)",
        "lock_now = and_(not_(locked), failures > threshold)",
        ("tests/store/test_throttles.py",),
    ),
    Mutant(
        "password-step-resets-otp-counter", "4.3", S + "services/login.py",
        "            lockout.succeed(tx, key)\n            if new_hash is not None:\n",
        "            lockout.succeed(tx, key)\n"
        "            lockout.succeed(tx, lockout.otp_key(user.id))\n"
        "            if new_hash is not None:\n",
        ("tests/services/test_login.py",),
    ),
    Mutant(
        "aead-ignores-owner", "4.4", S + "security/keyring.py",
        'return _AAD_PREFIX + len(kid).to_bytes(1, "big") + kid + owner.encode("utf-8")',
        'return _AAD_PREFIX + len(kid).to_bytes(1, "big") + kid',
        ("tests/security/test_keyring.py",),
    ),
    Mutant(
        "device-secret-not-bound-to-row", "4.4", S + "services/factors.py",
        'return f"totp_device:{device_id}"',
        'return "totp_device"',
        ("tests/services/test_factors.py",),
    ),
    Mutant(
        "secrets-below-160-bits", "4.5", S + "otp/secrets.py",
        "DEFAULT_BITS: Final = 160",
        "DEFAULT_BITS: Final = 128",
        ("tests/otp/test_secrets.py", "tests/services/test_enrollment.py"),
    ),
    Mutant(
        "no-dummy-hash-for-unknown-email", "4.6", S + "services/login.py",
        "    if user is None:\n        ctx.passwords.dummy_verify(password)\n        ok = False\n",
        "    if user is None:\n        ok = False\n",
        ("tests/services/test_login.py",),
    ),
    Mutant(
        "second-device-without-elevation", "4.7", S + "services/enrollment.py",
        "            sessions.require_elevated(principal, at)\n",
        "",
        ("tests/services/test_enrollment.py",),
    ),
    Mutant(
        "remove-device-without-elevation", "4.7", S + "services/devices.py",
        '        if device.status == "active":\n'
        "            sessions.require_elevated(principal, at)\n",
        "",
        ("tests/services/test_devices.py",),
    ),
    Mutant(
        "regenerate-backup-without-elevation", "4.7", S + "services/backup_codes.py",
        "    sessions.require_elevated(principal, at)\n",
        "",
        ("tests/services/test_backup_codes.py",),
    ),
    Mutant(
        "reset-skips-second-factor", "4.8", S + "services/reset.py",
        "    return user.email_verified_at is not None and devices.count_active(tx, user.id) > 0\n",
        "    return False\n",
        ("tests/services/test_reset.py",),
    ),
    Mutant(
        "reset-token-stored-unhashed", "4.8", S + "services/reset.py",
        'return keyed_hash(ctx.keyring.pepper, f"reset:{token.strip()}")',
        "return token.strip()",
        ("tests/services/test_dump.py", "tests/services/test_reset.py"),
    ),
    Mutant(
        "reset-keeps-sessions", "4.8", S + "services/reset.py",
        "    sessions.revoke_all(tx, user.id, at, origin)\n",
        "",
        ("tests/services/test_reset.py",),
    ),
    Mutant(
        "refresh-token-stored-unhashed", "4.9", S + "services/sessions.py",
        'return keyed_hash(ctx.keyring.pepper, f"refresh:{token}")',
        "return token",
        ("tests/services/test_dump.py", "tests/services/test_sessions.py"),
    ),
    Mutant(
        "refresh-reuse-keeps-family", "4.9", S + "services/refresh.py",
        "    revoked = store.revoke_family(tx, retired.family_id, at)\n",
        "    revoked = 0\n",
        ("tests/services/test_refresh.py",),
    ),
    Mutant(
        "token-subject-not-bound-to-session", "4.9", S + "services/sessions.py",
        "    if principal.user.id != holder.user_id:\n        raise InvalidToken()",
        "    if False:\n        raise InvalidToken()",
        ("tests/services/test_step_up.py",),
    ),
    Mutant(
        "token-algorithm-chosen-by-header", "4.9", S + "security/tokens/verifier.py",
        "        if key.algorithm != alg:",
        "        if False:",
        ("tests/security/tokens/test_verifier.py", "tests/security/tokens/test_compact.py"),
    ),
    Mutant(
        "email-code-attempts-unlimited", "4.10", S + "services/email_codes.py",
        "if attempts is None or attempts > MAX_ATTEMPTS:",
        "if attempts is None:",
        ("tests/services/test_email_codes.py",),
    ),
    Mutant(
        "keyed-hash-compared-with-eq", "4.2", S + "security/hashing.py",
        'return hmac.compare_digest(actual, expected.encode("utf-8", "surrogatepass"))',
        'return actual == expected.encode("utf-8", "surrogatepass")',
        ("tests/security/test_hashing.py",),
    ),
    Mutant(
        "audit-records-the-code", "4.11", S + "services/enrollment.py",
        '                details={"device_id": device.id},\n',
        '                details={"device_id": device.id, "entered": code},\n',
        ("tests/services/test_enrollment.py", "tests/services/test_dump.py"),
    ),
    Mutant(
        "kit-accepts-any-amr", "4.12", S + "integrations/policy.py",
        'if rule.level == "2fa" and not claims.has_second_factor():',
        'if rule.level == "2fa" and not claims.amr:',
        ("tests/integrations/test_policy.py",),
    ),
    Mutant(
        "dev-provider-in-production", "4.14", S + "settings_rules.py",
        '    if settings.otp_provider.strip() == "dev":\n',
        "    if False:\n",
        ("tests/test_config.py",),
    ),
)
# fmt: on


def git(*args: str) -> bytes:
    command = ["git", "-C", str(ROOT), *args]
    return subprocess.run(command, check=True, capture_output=True).stdout  # noqa: S603, S607


def make_copy(ref: str, base: Path) -> Path:
    """Unpack ``git archive ref`` into ``base/repo``; the working tree is only read."""
    copy = base / "repo"
    copy.mkdir()
    with tarfile.open(fileobj=io.BytesIO(git("archive", "--format=tar", ref))) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(copy, filter="data")
        else:  # pragma: no cover - Python before 3.11.4
            tar.extractall(copy)  # noqa: S202 - our own repository's archive
    return copy


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(copy / "src"), str(copy)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONHOME", None)
    return env


def check_imports(copy: Path, env: dict[str, str]) -> None:
    """Refuse to run unless ``twostep`` and ``tests`` are imported from the copy."""
    probe = "import twostep, tests; print(twostep.__file__); print(tests.__file__)"
    out = subprocess.run(  # noqa: S603 - our own interpreter and a fixed probe
        [str(PYTHON), "-c", probe], cwd=copy, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    for imported in out:
        if not Path(imported).resolve().is_relative_to(copy.resolve()):
            sys.exit(f"refusing to run: {imported} is not inside the copy {copy}")


def pytest_command(tests: tuple[str, ...], postgres: bool, first_failure: bool) -> list[str]:
    command = [str(PYTHON), "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider"]
    if first_failure:
        command.append("-x")
    if not postgres:
        command += ["-m", "not postgres"]
    return command


def run_tests(
    copy: Path,
    env: dict[str, str],
    tests: tuple[str, ...],
    postgres: bool,
    timeout: float,
    first_failure: bool = True,
) -> tuple[str, str]:
    """(outcome, the failed tests and pytest's last lines) of the tests on the copy as it is."""
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter running pytest
            pytest_command(tests, postgres, first_failure),
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "timeout", ""
    lines = (done.stdout + done.stderr).strip().splitlines()
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    tail = "\n".join(dict.fromkeys([*failed, *lines[-3:]]))
    outcome = {0: "survived", 1: "killed"}.get(done.returncode, f"error (exit {done.returncode})")
    return outcome, tail


def staleness(copy: Path, mutant: Mutant) -> str | None:
    """Why ``mutant`` cannot be applied to the copy, or None."""
    target = copy / mutant.path
    if not target.is_file():
        return f"{mutant.path} is gone"
    missing = [t for t in mutant.tests if not (copy / t).is_file()]
    if missing:
        return f"test module missing: {', '.join(missing)}"
    count = target.read_text(encoding="utf-8").count(mutant.search)
    if count != 1:
        return f"search text found {count} times"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="run the PostgreSQL cases too")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="mutants whose name contains")
    parser.add_argument("--ref", default="HEAD", help="the commit to copy (default HEAD)")
    parser.add_argument(
        "--overlay", nargs="+", default=[], metavar="FILE",
        help="working-tree files copied over the copy first (e.g. tests not yet committed)",
    )  # fmt: skip
    parser.add_argument(
        "--tests", nargs="+", metavar="MODULE",
        help="run these test modules for every chosen mutant instead of its own",
    )  # fmt: skip
    parser.add_argument(
        "--all-failures", action="store_true",
        help="do not stop at the first failure (-x): list every test that catches a mutant",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600, help="seconds per test run")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    parser.add_argument("--list", action="store_true", help="print the table and stop")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's tail")
    args = parser.parse_args(argv)

    chosen = [m for m in MUTANTS if not args.only or any(o in m.name for o in args.only)]
    if args.tests:
        chosen = [dataclasses.replace(m, tests=tuple(args.tests)) for m in chosen]
    if args.list:
        for m in chosen:
            print(f"{m.name:40} §{m.invariant:5} {m.path}\n{'':40} tests: {' '.join(m.tests)}")
        return 0
    if not chosen:
        sys.exit("no mutant matches --only")
    if not PYTHON.is_file():
        sys.exit(f"no virtualenv at {PYTHON}: run `uv sync --frozen` first")

    base = Path(tempfile.mkdtemp(prefix="twostep-mutate-"))
    results: list[tuple[Mutant, str, float]] = []
    try:
        copy = make_copy(args.ref, base)
        for name in args.overlay:
            source = (ROOT / name).resolve()
            if not source.is_relative_to(ROOT) or not source.is_file():
                sys.exit(f"--overlay {name}: not a file in the repository")
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy / name)
        env = environment(copy)
        check_imports(copy, env)
        engines = "SQLite and PostgreSQL" if args.postgres else "SQLite only"
        print(f"copy of {args.ref} in {copy}; {engines}")

        runnable = [m for m in chosen if staleness(copy, m) is None]
        if runnable and not args.no_baseline:
            modules = tuple(dict.fromkeys(t for m in runnable for t in m.tests))
            outcome, tail = run_tests(copy, env, modules, args.postgres, args.timeout * 3)
            if outcome != "survived":
                print(f"baseline run is not green ({outcome}); fix that first:\n{tail}")
                return 2
            print(f"baseline: {len(modules)} test modules pass unmutated")

        for m in chosen:
            reason = staleness(copy, m)
            if reason is not None:
                results.append((m, "stale", 0.0))
                print(f"  {m.name:40} stale: {reason}", flush=True)
                continue
            target = copy / m.path
            original = target.read_text(encoding="utf-8")
            target.write_text(original.replace(m.search, m.replace, 1), encoding="utf-8")
            started = time.monotonic()
            try:
                outcome, tail = run_tests(
                    copy, env, m.tests, args.postgres, args.timeout, not args.all_failures
                )
            finally:
                target.write_text(original, encoding="utf-8")
            seconds = time.monotonic() - started
            results.append((m, outcome, seconds))
            print(f"  {m.name:40} {outcome} ({seconds:.0f}s)", flush=True)
            if args.verbose or outcome.startswith("error"):
                print("    " + tail.replace("\n", "\n    "))
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)

    print(f"\n{'mutant':40} {'§':6} {'result':10} file")
    for m, outcome, _ in results:
        print(f"{m.name:40} {m.invariant:6} {outcome:10} {m.path}")
    killed = sum(outcome == "killed" for _, outcome, _ in results)
    print(f"\n{killed}/{len(results)} killed")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
