"""A community that behaves like a real one: every device of a site reporting over MQTT,
daily routines, and hazards injected on named devices.

Layer: simulator (an adapter: it publishes to a broker). The pure parts
(:mod:`simulators.behaviour`, :mod:`simulators.routines`, :mod:`simulators.engine`)
take ``now`` and a NumPy generator; :mod:`simulators.community` adds the
thread and the paho client.
"""
