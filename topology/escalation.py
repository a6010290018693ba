"""The ``escalation:`` section of a site file: how an unhandled alert climbs the
responsibility chain (DOMAIN.md: grid worker → grid leader or compound branch →
deputy → community head).

Layer: pure core (schema only; the built-in defaults and the state machine are in
:mod:`alerts.escalation`). Policies here are tried in order before the defaults;
the first whose ``hazards`` and ``severity`` match an alert applies. Example::

    escalation:
      policies:
        - hazards: [gas, smoke, co, heat]
          severity: critical
          steps:
            - {after_s: 0,    notify: [worker, assistant, contacts, property]}
            - {after_s: 180,  notify: [grid_leader]}
            - {after_s: 600,  notify: [deputy]}
            - {after_s: 1800, notify: [head]}
          repeat_s: 120
      resolve_within_s: {critical: 7200, warning: 86400, info: 259200}

Levels: ``worker`` (on duty), ``assistant``, ``micro_grid_leader``, ``grid_leader``
(the grid's leader, else the compound's branch secretary), ``branch_secretary``,
``deputy``, ``head``, ``property`` (the property company's staff, for what they fix),
``contacts`` (emergency contacts of an elderly-alone household, for welfare and
life-safety alerts).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["worker", "assistant", "micro_grid_leader", "grid_leader", "branch_secretary",
                "deputy", "head", "property", "contacts"]
SeverityName = Literal["info", "warning", "critical"]
_OVERDUE_DEFAULT: tuple[Level, ...] = ("grid_leader", "deputy")
HazardName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EscalationStep(_Model):
    """Who is told once an alert has been unacknowledged for ``after_s`` seconds."""

    after_s: float = Field(ge=0, le=30 * 86400)
    notify: list[Level] = Field(min_length=1)


class EscalationPolicy(_Model):
    """Escalation for alerts of some hazards (all when empty) and a severity (any when absent)."""

    hazards: list[HazardName] = Field(default_factory=list)
    severity: SeverityName | None = None
    steps: list[EscalationStep] = Field(min_length=1)
    repeat_s: float | None = Field(default=None, gt=0, description="Repeat to everyone told so "
                                   "far every repeat_s seconds until acknowledged")
    repeat_max: int = Field(default=20, ge=0, le=1000)
    resolve_within_s: float | None = Field(default=None, gt=0, description="Resolution deadline; "
                                           "default by severity")
    overdue_notify: list[Level] = Field(default_factory=lambda: list(_OVERDUE_DEFAULT))


class EscalationConfig(_Model):
    """Site-specific escalation policies and resolution deadlines per severity."""

    policies: list[EscalationPolicy] = Field(default_factory=list)
    resolve_within_s: dict[SeverityName, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
