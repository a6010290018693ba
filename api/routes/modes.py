"""Modes people set: a device in maintenance / test mode (GB/T 45839 5.8.4: readings
stored, no alerts, the mode visible), a household checked in as away (no welfare
alerts while away; the welfare clock restarts on return).

Layer: adapters. Every change is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from alerts.service import DeviceRetired
from api.deps import Ctx, Me, actor
from api.errors import ApiError, error_responses
from topology.model import UserRole

router = APIRouter(prefix="/api", tags=["modes"])


class MaintenanceBody(BaseModel):
    """Maintenance on or off."""

    on: bool
    note: str = Field(default="", max_length=500)


class AwayBody(BaseModel):
    """Away or back."""

    away: bool
    note: str = Field(default="", max_length=500)


@router.post("/devices/{device_id}/maintenance", summary="Maintenance / test mode of a device",
             responses=error_responses(403, 404))
def maintenance(c: Ctx, p: Me, device_id: str, body: MaintenanceBody,
                who: Annotated[str, Depends(actor)]) -> dict[str, Any]:
    """While on, the device's readings are stored and move the rules but raise nothing."""
    place = c.index.place_of(device_id)
    if place is None or not p.sees_device(place):
        raise ApiError(404, f"no device {device_id!r}")
    if p.read_only:
        raise ApiError(403, "you may not change devices")
    try:
        on = c.commands.set_maintenance(device_id, body.on, actor=who, note=body.note)
    except DeviceRetired as exc:
        raise ApiError(409, str(exc)) from None
    return {"device_id": device_id, "maintenance": on}


class HushBody(BaseModel):
    """Why the alarm is silenced (optional)."""

    note: str = Field(default="", max_length=500)


@router.post("/devices/{device_id}/hush", summary="Silence a sounding smoke alarm for 10 minutes",
             responses=error_responses(403, 404, 409))
def hush(c: Ctx, p: Me, device_id: str, body: HushBody,
         who: Annotated[str, Depends(actor)]) -> dict[str, Any]:
    """GB/T 45839 5.4.4: a person responsible for the place silences the alarm while
    they check (cooking smoke, burnt toast). Its alert drops to info and comes back
    critical if the detector still sees smoke after ``smoke_hush_s`` (10 minutes)."""
    place = c.index.place_of(device_id)
    if place is None or not p.sees_device(place):
        raise ApiError(404, f"no device {device_id!r}")
    if place.device.kind.value != "smoke":
        raise ApiError(409, f"{device_id!r} is not a smoke alarm")
    if p.read_only or p.role == UserRole.MAINTENANCE:
        raise ApiError(403, "only those who respond to alarms may silence one")
    if not c.commands.hush(device_id, actor=who, note=body.note):
        raise ApiError(409, f"the smoke alarm {device_id!r} is not sounding")
    return {"device_id": device_id, "hushed": True}


class RetireBody(BaseModel):
    """Why the device is taken out of service."""

    note: str = Field(default="", max_length=500)


@router.post("/devices/{device_id}/retire", summary="Take a device out of service (设备注销)",
             responses=error_responses(403, 404))
def retire(c: Ctx, p: Me, device_id: str, body: RetireBody,
           who: Annotated[str, Depends(actor)]) -> dict[str, Any]:
    """It raises nothing from now on (readings are still stored); its open alerts are
    closed; its grid worker and property company get a "device retired" notice. To bring
    it back, remove it from the site file and add it again under a new id."""
    place = c.index.place_of(device_id)
    if place is None or not p.sees_device(place):
        raise ApiError(404, f"no device {device_id!r}")
    if p.read_only or p.role == UserRole.GRID_WORKER:
        raise ApiError(403, "only the property company, maintenance, a community leader or an "
                            "admin may retire devices")
    return dict(c.commands.retire_device(device_id, actor=who, note=body.note))


@router.post("/households/{household_id}/away", summary="Check a household in as away, or back",
             responses=error_responses(403, 404))
def away(c: Ctx, p: Me, household_id: str, body: AwayBody,
         who: Annotated[str, Depends(actor)]) -> dict[str, Any]:
    """No welfare alerts while away; when back, the welfare clock starts again."""
    if household_id not in c.index.households or not p.sees_place(household_id):
        raise ApiError(404, f"no household {household_id!r}")
    if p.read_only:
        raise ApiError(403, "you may not change households")
    result = c.commands.set_away(household_id, body.away, actor=who, note=body.note)
    if result is None:
        raise ApiError(404, f"household {household_id!r} has no devices to watch")
    return {"household_id": household_id, "away": result}
