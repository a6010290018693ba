"""Ingest: the MQTT subscriber, decoding messages into batches, writing them durably,
and the embedded broker of the zero-setup mode.

Layer: adapters. Depends on the pure core (sensors, topology, alerts.rules) and the
store protocol; never imported by the core.
"""
