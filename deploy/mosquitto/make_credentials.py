"""Write Mosquitto credentials and an ACL for every device of a GridWatch site.

    python deploy/mosquitto/make_credentials.py --site SITE.yaml --out DIR [--csv-dir DIR2]

Writes, in DIR (the broker's, mounted read-only):

* ``passwd``: one user per device (the device id), the service user, the
  Zigbee2MQTT bridge user (and ``simulator`` with ``--simulator``), with Mosquitto
  2.0 PBKDF2-SHA512 hashes (``$7$``), so ``mosquitto_passwd`` is not needed;
* ``healthcheck.password``: the password of ``healthcheck``, a user with no rights
  at all, for the broker's container healthcheck (it may only log in);
* ``acl``: one ``pattern`` line for every device, ``gridwatch/<community>/%u/#``
  (the user name is the device id), instead of a block per device; the service
  user may read ``gridwatch/<community>/#`` and ``zigbee2mqtt/#`` and write
  ``gridwatch/<community>/alerts``; the bridge user reads and writes
  ``zigbee2mqtt/#``. The pattern also gives those users a subtree
  ``gridwatch/<community>/<user>/#``, which no device has (the names are reserved);

and in DIR2 (default DIR; keep it out of the broker's volumes):

* ``credentials.csv`` (mode 600): device,username,password, to provision the
  devices (re-running keeps existing passwords).

The service's password is read from ``--service-password-file`` (or
``$GRIDWATCH_MQTT_PASSWORD``), the bridge's from ``--bridge-password-file``;
otherwise random ones are drawn and kept in ``credentials.csv``.
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


RESERVED = ("alerts", "simulator", "healthcheck")


def acl_text(community: str, *, service_user: str, bridge_user: str, simulator: bool) -> str:
    """The ACL: exact rules for the service, bridge and simulator users, one pattern for devices."""
    root = f"gridwatch/{community}"
    acl = [
        "# The GridWatch service: what it reads, and its notices topic.",
        f"user {service_user}",
        f"topic read {root}/#",
        "topic read zigbee2mqtt/#",
        f"topic write {root}/alerts",
        "",
        "# The Zigbee2MQTT bridge.",
        f"user {bridge_user}",
        "topic readwrite zigbee2mqtt/#",
        "",
    ]
    if simulator:
        acl += ["# The bundled simulator (a demo: it speaks for every device).",
                "user simulator", f"topic write {root}/#", ""]
    acl += ["# Every device: its own topics only (user name = device id).",
            f"pattern readwrite {root}/%u/#", ""]
    return "\n".join(acl)


def write_credentials(
    community: str,
    devices: list[str],
    out: Path,
    *,
    service_user: str = "gridwatch",
    service_password: str | None = None,
    bridge_user: str = "zigbee2mqtt",
    bridge_password: str | None = None,
    simulator: bool = False,
    csv_dir: Path | None = None,
) -> dict[str, str]:
    """Write passwd, acl (in ``out``) and credentials.csv (in ``csv_dir``, default
    ``out``); returns username → password."""
    bad = [d for d in devices if any(c in d for c in "+#/:%\n") or not d]
    if bad or any(c in community for c in "+#/%"):
        raise SystemExit(f"ids not usable in topics or usernames: {bad or community}")
    taken = sorted(set(devices) & {service_user, bridge_user, *RESERVED})
    if taken:
        raise SystemExit(f"device ids reserved for other users or topics: {taken}")
    out.mkdir(parents=True, exist_ok=True)
    csv_dir = csv_dir or out
    csv_dir.mkdir(parents=True, exist_ok=True)
    csv_path = csv_dir / "credentials.csv"
    known: dict[str, str] = {}
    if csv_path.exists():
        with csv_path.open(newline="") as f:
            known = {r["username"]: r["password"] for r in csv.DictReader(f)}
    users = [service_user, bridge_user, "healthcheck", *(["simulator"] if simulator else []),
             *devices]
    passwords = {u: known.get(u) or secrets.token_urlsafe(18) for u in users}
    if service_password:
        passwords[service_user] = service_password
    if bridge_password:
        passwords[bridge_user] = bridge_password
    (out / "acl").write_text(acl_text(community, service_user=service_user,
                                      bridge_user=bridge_user, simulator=simulator))
    fd = os.open(out / "healthcheck.password", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(passwords["healthcheck"])
    (out / "passwd").write_text("".join(f"{u}:{hash_password(passwords[u])}\n" for u in users))
    fd = os.open(csv_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["device", "username", "password"])
        for u in users:
            w.writerow([u if u in devices else "", u, passwords[u]])
    os.chmod(csv_path, 0o600)  # also when it existed with wider bits
    return passwords


def _secret(path: Path | None, env: str | None = None) -> str | None:
    if path is not None:
        text = path.read_text(encoding="utf-8")
        return text.splitlines()[0] if text else None
    return os.environ.get(env) if env else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Mosquitto credentials and ACL for a GridWatch site")
    ap.add_argument("--site", type=Path, default=os.environ.get("GRIDWATCH_SITE") or None,
                    help="site file (default $GRIDWATCH_SITE, else the bundled sample)")
    ap.add_argument("--out", type=Path, required=True, help="where passwd and acl go")
    ap.add_argument("--csv-dir", type=Path, help="where credentials.csv goes (default --out)")
    ap.add_argument("--service-user", default="gridwatch")
    ap.add_argument("--service-password-file", type=Path,
                    help="the service's password (default $GRIDWATCH_MQTT_PASSWORD, else random)")
    ap.add_argument("--bridge-user", default="zigbee2mqtt")
    ap.add_argument("--bridge-password-file", type=Path, help="the Zigbee2MQTT bridge's password")
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
        service_password=_secret(args.service_password_file, "GRIDWATCH_MQTT_PASSWORD"),
        bridge_user=args.bridge_user,
        bridge_password=_secret(args.bridge_password_file),
        simulator=args.simulator,
        csv_dir=args.csv_dir,
    )
    print(
        f"{len(devices)} devices of {community}: {args.out}/passwd, acl; "
        f"{args.csv_dir or args.out}/credentials.csv",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
