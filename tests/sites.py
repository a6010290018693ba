"""A tiny hand-written site for tests: 1 compound, 2 grids, 2 buildings."""

from __future__ import annotations

from typing import Any


def tiny_site(notify: list[str] | None = None) -> dict[str, Any]:
    """Two buildings in two grids; household devices of every kind, a unit door."""
    notify = notify or []
    return {
        "community": {"id": "tiny", "name": "小社区", "head": "w-head", "deputy": "w-deputy"},
        "workers": [
            {"id": "w-head", "name": "王书记", "role": "community_head", "notify": notify},
            {"id": "w-deputy", "name": "李主任", "role": "deputy", "notify": notify},
            {"id": "w-g1", "name": "张伟", "role": "grid_worker", "phone": "13800000001", "notify": notify},
            {"id": "w-g1a", "name": "赵敏", "role": "grid_assistant", "notify": notify},
            {"id": "w-g2", "name": "刘洋", "role": "grid_worker", "notify": notify},
            {"id": "w-pm", "name": "陈经理", "role": "property_manager", "notify": notify},
        ],
        "property_companies": [{"id": "pc1", "name": "安居物业", "staff": ["w-pm"]}],
        "compounds": [{"id": "c1", "name": "一号院", "property_company": "pc1"}],
        "grids": [
            {"id": "g1", "name": "第一网格", "worker": "w-g1", "assistant": "w-g1a"},
            {"id": "g2", "name": "第二网格", "worker": "w-g2"},
        ],
        "micro_grids": [{"id": "mg1", "name": "1号楼微网格", "grid": "g1"}],
        "buildings": [
            {
                "id": "b1", "name": "1号楼", "compound": "c1", "grid": "g1",
                "units": [
                    {
                        "id": "b1-u1", "name": "1单元", "micro_grid": "mg1",
                        "devices": [{"id": "door-b1u1", "kind": "door", "location": "unit door",
                                     "heartbeat_s": 600}],
                        "households": [
                            {"id": "b1-u1-101", "room": "101", "devices": [
                                {"id": "gas-101", "kind": "gas", "location": "kitchen", "heartbeat_s": 600},
                                {"id": "smoke-101", "kind": "smoke", "heartbeat_s": 600},
                                {"id": "water-101", "kind": "water", "heartbeat_s": 600},
                            ]},
                            {"id": "b1-u1-102", "room": "102", "elderly_alone": True,
                             "contacts": [{"name": "孙女", "relation": "granddaughter", "phone": "139"}],
                             "devices": [
                                 {"id": "gas-102", "kind": "gas", "heartbeat_s": 600},
                                 {"id": "door-102", "kind": "door", "heartbeat_s": 600},
                                 {"id": "co-102", "kind": "co", "heartbeat_s": 600},
                             ]},
                        ],
                    }
                ],
            },
            {
                "id": "b2", "name": "2号楼", "compound": "c1", "grid": "g2",
                "units": [{"id": "b2-u1", "name": "1单元", "households": [
                    {"id": "b2-u1-201", "room": "201", "devices": [
                        {"id": "gas-201", "kind": "gas", "heartbeat_s": 600},
                        {"id": "heat-201", "kind": "heat", "heartbeat_s": 600},
                    ]},
                ]}],
            },
        ],
    }
