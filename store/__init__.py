"""Stores: adapters that keep readings (SQLite or InfluxDB) and alert state (SQLite).

Layer: adapters. Depend on the pure core, never the reverse.
"""
