"""The site file's schema: pydantic models of a community and who is responsible for it.

Layer: pure core. The YAML site file is validated into :class:`Site`; the JSON
Schema published for site authors is generated from these models. Cross
references (a building's grid, a grid's worker) are checked by
:func:`topology.load.check_references`, which reports every problem with its path.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sensors.fields import DeviceKind
from topology.duty import Duty
from topology.escalation import EscalationConfig
from topology.rules import RuleOverrides

Id = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="A stable identifier: letters, digits, '_', '.', '-'; no '/', '+', '#' or spaces "
        "(it appears in MQTT topics).",
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    """What a person does in the responsibility chain (DOMAIN.md, Wuyang's five levels)."""

    COMMUNITY_HEAD = "community_head"  # 一把手, overall responsibility
    DEPUTY = "deputy"  # 分管领导, concrete responsibility
    BRANCH_SECRETARY = "branch_secretary"  # 小区党支部, manages a compound
    GRID_LEADER = "grid_leader"  # oversees several grids
    GRID_WORKER = "grid_worker"  # 专职网格员, finds and checks hazards
    GRID_ASSISTANT = "grid_assistant"  # 辅助网格员, backup
    PROPERTY_MANAGER = "property_manager"  # 物业, removes hazards
    MAINTENANCE = "maintenance"  # 维修, repairs devices
    VOLUNTEER = "volunteer"  # 楼长 / 单元长 / 党员中心户


class Worker(_Model):
    """A person who receives alerts."""

    id: Id
    name: str = Field(min_length=1, max_length=64)
    role: Role
    phone: str | None = Field(default=None, max_length=32)
    notify: list[str] = Field(
        default_factory=list,
        description="Notification targets as apprise URLs, in order of preference "
        "(wecombot://..., dingtalk://..., feishu://..., mailto://..., json://...).",
    )
    language: str = Field(default="zh", pattern=r"^(zh|en)$")
    login: Id | None = Field(
        default=None,
        description="Login name for the web app; the user is created at start-up with the "
        "worker's role and places (set a password with `gridwatch user passwd`).",
    )


class UserRole(StrEnum):
    """What a web-app user may see and do (GB/T 45839 5.10.6, 5.12)."""

    ADMIN = "admin"  # everything, including users and tokens
    LEADER = "leader"  # community head, deputy: the whole community
    GRID_WORKER = "grid_worker"  # their grids
    PROPERTY_MANAGER = "property_manager"  # their company's buildings
    MAINTENANCE = "maintenance"  # their company's buildings, device faults
    RESIDENT = "resident"  # their own household, read-only


class SiteUser(_Model):
    """A web-app user declared in the site file (people who are not workers: residents,
    integrations, administrators)."""

    login: Id
    name: str = Field(min_length=1, max_length=64)
    role: UserRole
    worker: Id | None = Field(default=None, description="Worker id this user acts as")
    grids: list[Id] = Field(default_factory=list, description="Grid ids (grid_worker)")
    property_company: Id | None = Field(default=None, description="property_manager, maintenance")
    household: Id | None = Field(default=None, description="Household id (resident)")
    password_hash: str | None = Field(
        default=None, max_length=256,
        description="An argon2 hash (`gridwatch user hash`); without it set a password with "
        "`gridwatch user passwd`.",
    )
    language: str = Field(default="zh", pattern=r"^(zh|en)$")


class Contact(_Model):
    """An emergency contact of a household (a child or relative of an elderly resident)."""

    name: str = Field(min_length=1, max_length=64)
    relation: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=32)
    notify: list[str] = Field(default_factory=list, description="apprise URLs")


class Device(_Model):
    """A sensor installed in a place (the place is where it is listed in the file)."""

    id: Id
    kind: DeviceKind
    model: str | None = Field(default=None, max_length=64)
    location: str | None = Field(
        default=None, max_length=64, description="Where in the place: kitchen, unit door, ..."
    )
    heartbeat_s: float = Field(
        default=3600.0,
        gt=0,
        le=7 * 86400,
        description="How often the device reports when nothing happens, seconds.",
    )
    z2m_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[^+#/\s][^+#]*$",
        description="Zigbee2MQTT friendly name when the device reaches MQTT through Zigbee2MQTT "
        "(it then publishes on zigbee2mqtt/<z2m_name>); the model must be one "
        "sensors.zigbee2mqtt knows.",
    )
    via: Id | None = Field(
        default=None,
        description="The gateway (a device id) this device reaches the network through; "
        "default: the only gateway of its building. While that gateway is offline, the "
        "device's own offline alert is inhibited (the gateway's alert speaks for it).",
    )


class Household(_Model):
    """A flat; where most sensors are installed."""

    id: Id
    room: str = Field(min_length=1, max_length=16, description="Room number, e.g. 501")
    micro_grid: Id | None = Field(default=None, description="Overrides the unit's micro-grid")
    elderly_alone: bool = Field(default=False, description="独居老人: enables welfare checks")
    contacts: list[Contact] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)


class Unit(_Model):
    """A stairwell of a building (单元), with its unit door."""

    id: Id
    name: str = Field(min_length=1, max_length=32)
    micro_grid: Id | None = None
    households: list[Household] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list, description="Common-area devices")


class Building(_Model):
    """A building (楼栋) in a compound, in one grid."""

    id: Id
    name: str = Field(min_length=1, max_length=32)
    compound: Id
    grid: Id
    property_company: Id | None = Field(
        default=None, description="Overrides the compound's property company"
    )
    units: list[Unit] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list, description="Common-area devices")


class Compound(_Model):
    """A gated estate (小区) with its own property company and party branch."""

    id: Id
    name: str = Field(min_length=1, max_length=64)
    property_company: Id | None = None
    branch_secretary: Id | None = Field(default=None, description="Worker id")


class Grid(_Model):
    """A patch with one full-time grid worker and an assistant."""

    id: Id
    name: str = Field(min_length=1, max_length=64)
    worker: Id = Field(description="Worker id of the full-time grid worker (专职网格员)")
    assistant: Id | None = Field(default=None, description="Worker id (辅助网格员)")
    leader: Id | None = Field(default=None, description="Worker id of the grid leader")


class MicroGrid(_Model):
    """20-30 households, the smallest unit of responsibility."""

    id: Id
    name: str = Field(min_length=1, max_length=64)
    grid: Id
    leader: Id | None = Field(default=None, description="Worker id (a volunteer, 微网格长)")


class PropertyCompany(_Model):
    """A property company (物业公司): fixes pipes, doors and devices."""

    id: Id
    name: str = Field(min_length=1, max_length=64)
    staff: list[Id] = Field(default_factory=list, description="Worker ids, managers first")


class Community(_Model):
    """The unit of governance (社区)."""

    id: Id = Field(description="Used in MQTT topics: gridwatch/<id>/<device>/state")
    name: str = Field(min_length=1, max_length=64)
    timezone: str = "Asia/Shanghai"
    head: Id | None = Field(default=None, description="Worker id of the community head")
    deputy: Id | None = Field(default=None, description="Worker id of the deputy in charge")


class Site(_Model):
    """A whole site file."""

    version: int = Field(default=1, ge=1, le=1)
    community: Community
    workers: list[Worker] = Field(default_factory=list)
    property_companies: list[PropertyCompany] = Field(default_factory=list)
    compounds: list[Compound] = Field(default_factory=list)
    grids: list[Grid] = Field(default_factory=list)
    micro_grids: list[MicroGrid] = Field(default_factory=list)
    buildings: list[Building] = Field(default_factory=list)
    rules: RuleOverrides = Field(default_factory=RuleOverrides)
    duty: Duty = Field(default_factory=Duty, description="Shifts, leave and stand-ins per grid")
    escalation: EscalationConfig = Field(
        default_factory=EscalationConfig, description="Escalation policies and resolution deadlines"
    )
    users: list[SiteUser] = Field(default_factory=list, description="Web-app users besides workers")
