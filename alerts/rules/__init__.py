"""The rule core: per-device NumPy state arrays, ``evaluate(batch, now) -> transitions``.

Layer: pure core. No asyncio, no I/O, no clock: ``now`` is always passed in.
"""
