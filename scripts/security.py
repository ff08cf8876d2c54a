"""Static security checks run by `make test`: bandit on the product code, pip-audit on the environment.

Fails on any bandit finding of medium or high severity that is not waived in place with
``# nosec BXXX: reason`` (a waiver without a reason fails too), and on any known vulnerability in an
installed package that is not listed with a reason in ``scripts/audit-waivers.txt``.

pip-audit needs a vulnerability service (PyPI's JSON API or OSV). Where none answers (a machine that
reaches only a package mirror) every package comes back unaudited; that is printed as a warning with
the count, not reported as "no known vulnerabilities".
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PRODUCT = ["expansion", "scoring", "routing", "dashboards"]
WAIVERS = ROOT / "scripts" / "audit-waivers.txt"
#: A bandit waiver must name the test and say why: ``# nosec B608: table name from the model``.
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")
NOSEC_WITH_REASON = re.compile(r"^\s*B\d{3}(,\s*B\d{3})*\s*[:-]\s*\S.{8,}")


def waivers_without_reason() -> list[str]:
    bad = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                match = NOSEC.search(line)
                if match and not NOSEC_WITH_REASON.match(match["rest"]):
                    bad.append(f"{path.relative_to(ROOT)}:{number}: '# nosec' needs a test id and a reason")
    return bad


#: bandit warns about every word of a waiver's reason ("not a test name") and about waivers it did
#: not need on a line; both are noise here, since waivers_without_reason() checks the waivers.
BANDIT_NOISE = ("Test in comment:", "but no failed test")


def run_bandit() -> int:
    args = [str(BIN / "bandit"), "-q", "-r", *PRODUCT, "--severity-level", "medium", "-x", "*/migrations/*"]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    print(result.stdout, end="")
    for line in result.stderr.splitlines():
        if not any(noise in line for noise in BANDIT_NOISE):
            print(line, file=sys.stderr)
    return result.returncode


def audit_waivers() -> dict[str, str]:
    waived = {}
    for line in WAIVERS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        vuln_id, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{WAIVERS.name}: {vuln_id} needs a reason after the id")
        waived[vuln_id] = reason.strip()
    return waived


def run_pip_audit() -> int:
    waived = audit_waivers()
    args = [str(BIN / "pip-audit"), "--skip-editable", "--progress-spinner", "off", "-f", "json"]
    for vuln_id in waived:
        args += ["--ignore-vuln", vuln_id]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit did not run: {result.stderr.strip()[-500:]}", file=sys.stderr)
        return 1
    deps = report["dependencies"]
    found = [(d["name"], d["version"], v["id"]) for d in deps for v in d.get("vulns", [])]
    unaudited = [d["name"] for d in deps if "could not be audited" in d.get("skip_reason", "")]
    for name, version, vuln_id in found:
        print(f"pip-audit: {name} {version}: {vuln_id} (upgrade, or waive with a reason in {WAIVERS.name})")
    audited = sum(1 for d in deps if "skip_reason" not in d)
    if unaudited and not audited:
        print(
            f"pip-audit: WARNING: no vulnerability service answered, so none of the {len(deps)} installed "
            "packages could be audited on this machine (run `make audit` where PyPI's API is reachable)."
        )
    else:
        print(
            f"pip-audit: {audited} packages audited, {len(found)} unwaived vulnerabilities, "
            f"{len(waived)} waived, {len(unaudited)} not found on the service"
        )
    return 1 if found else 0


def main() -> int:
    problems = waivers_without_reason()
    for problem in problems:
        print(problem)
    bandit = run_bandit()
    print(
        "bandit: clean"
        if bandit == 0
        else "bandit: findings above (fix, or waive with '# nosec BXXX: reason')"
    )
    audit = run_pip_audit()
    return 1 if problems or bandit or audit else 0


if __name__ == "__main__":
    raise SystemExit(main())
