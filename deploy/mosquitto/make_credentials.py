"""Write Mosquitto credentials and an ACL for every device of a GridWatch site.

    python deploy/mosquitto/make_credentials.py --site SITE.yaml --out DIR

Writes, in DIR:

* ``passwd``: one user per device (the device id) plus the service user, with
  Mosquitto 2.0 PBKDF2-SHA512 hashes (``$7$``), so ``mosquitto_passwd`` is not needed;
* ``acl``: the service reads ``gridwatch/#``; each device may read and write
  ``gridwatch/<community>/<device>/#`` and nothing else;
* ``credentials.csv`` (mode 600): device,username,password, to provision the
  devices (keep it secret; re-running keeps existing passwords).

The service's password is taken from ``$GRIDWATCH_MQTT_PASSWORD`` when set.
With ``--simulator`` a ``simulator`` user may publish for every device (demo only).
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import os
import secrets
import sys
from pathlib import Path

ITERATIONS = 101  # what mosquitto_passwd 2.0 writes


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A Mosquitto 2.0 password-file hash: ``$7$<iterations>$<salt b64>$<hash b64>``."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    return f"$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def site_devices(site_path: Path) -> tuple[str, list[str]]:
    """The community id and device ids of a site file."""
    from topology.index import SiteIndex  # noqa: PLC0415 - only when reading a site
    from topology.load import load_site  # noqa: PLC0415

    site = load_site(site_path)
    return site.community.id, [p.device.id for p in SiteIndex(site).devices]


def write_credentials(
    community: str,
    devices: list[str],
    out: Path,
    *,
    service_user: str = "gridwatch",
    service_password: str | None = None,
    simulator: bool = False,
) -> dict[str, str]:
    """Write passwd, acl and credentials.csv; returns username → password."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "credentials.csv"
    known: dict[str, str] = {}
    if csv_path.exists():
        with csv_path.open(newline="") as f:
            known = {r["username"]: r["password"] for r in csv.DictReader(f)}
    users = [service_user, *(["simulator"] if simulator else []), *devices]
    passwords = {u: known.get(u) or secrets.token_urlsafe(18) for u in users}
    if service_password:
        passwords[service_user] = service_password
    bad = [d for d in devices if any(c in d for c in "+#/:\n") or not d]
    if bad or any(c in community for c in "+#/"):
        raise SystemExit(f"ids not usable in topics or usernames: {bad or community}")

    acl = [f"user {service_user}", "topic read gridwatch/#", ""]
    if simulator:
        acl += ["user simulator", f"topic write gridwatch/{community}/#", ""]
    for d in devices:
        acl += [f"user {d}", f"topic readwrite gridwatch/{community}/{d}/#", ""]
    (out / "acl").write_text("\n".join(acl))
    (out / "passwd").write_text("".join(f"{u}:{hash_password(passwords[u])}\n" for u in users))
    fd = os.open(csv_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["device", "username", "password"])
        for u in users:
            w.writerow([u if u in devices else "", u, passwords[u]])
    return passwords


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Mosquitto credentials and ACL for a GridWatch site")
    ap.add_argument("--site", type=Path, help="site file (default: the bundled sample)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--service-user", default="gridwatch")
    ap.add_argument("--simulator", action="store_true", help="add a 'simulator' user (demo)")
    args = ap.parse_args(argv)
    if args.site is None:
        from topology.load import SAMPLE_SITE  # noqa: PLC0415

        args.site = SAMPLE_SITE
    community, devices = site_devices(args.site)
    write_credentials(
        community,
        devices,
        args.out,
        service_user=args.service_user,
        service_password=os.environ.get("GRIDWATCH_MQTT_PASSWORD"),
        simulator=args.simulator,
    )
    print(
        f"{len(devices)} devices of {community}: {args.out}/passwd, acl, credentials.csv",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
