"""Write a seccomp profile for the mcp-box container: a base profile plus the Landlock calls.

    python deploy/seccomp.py BASE.json > mcp-box-seccomp.json
    docker run --security-opt seccomp=mcp-box-seccomp.json ...

BASE is the default profile of the engine you run: Docker's (`profiles/seccomp/default.json`
of moby, for your release) or podman's (`/usr/share/containers/seccomp.json`). Recent ones
already allow `landlock_create_ruleset`, `landlock_add_rule` and `landlock_restrict_self`,
and the output is then the base unchanged; older ones answer them EPERM, and
`mcp-box doctor` says "blocked by seccomp (EPERM)". Only those three calls are added to the
base's unconditional allow rule: nothing else is opened, and never `seccomp=unconfined`.

The profile is made from your engine's own default rather than shipped here, so it keeps
whatever that release allows and refuses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

LANDLOCK = ("landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self")
ALLOW = "SCMP_ACT_ALLOW"


class ProfileError(ValueError):
    """The base is not a seccomp profile of the Docker/OCI JSON form."""


def with_landlock(profile: dict[str, Any]) -> dict[str, Any]:
    """`profile` with the three Landlock calls allowed unconditionally (a copy; idempotent)."""
    rules = profile.get("syscalls")
    if not isinstance(profile.get("defaultAction"), str) or not isinstance(rules, list):
        raise ProfileError("expected a seccomp profile: an object with 'defaultAction' and a 'syscalls' list")
    rules = [dict(rule) for rule in rules]
    plain = [rule for rule in rules if _unconditional_allow(rule)]
    allowed = {name for rule in plain for name in rule["names"]}
    missing = [name for name in LANDLOCK if name not in allowed]
    if missing and plain:
        plain[0]["names"] = sorted([*plain[0]["names"], *missing])
    elif missing:
        rules.append({"names": missing, "action": ALLOW})
    return {**profile, "syscalls": rules}


def _unconditional_allow(rule: Any) -> bool:
    """An allow rule with no argument filter and no arch/capability/kernel condition."""
    if not isinstance(rule, dict) or rule.get("action") != ALLOW or not isinstance(rule.get("names"), list):
        return False
    return not any(rule.get(key) for key in ("args", "includes", "excludes"))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    base = Path(argv[0])
    try:
        profile = with_landlock(json.loads(base.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        print(f"seccomp.py: {base}: {exc}", file=sys.stderr)
        return 2
    json.dump(profile, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
