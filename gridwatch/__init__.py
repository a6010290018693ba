"""GridWatch's composition root: settings, the command line, and the runtime that wires
the pure core to the adapters (broker, ingest, stores, alert side, API).
"""
