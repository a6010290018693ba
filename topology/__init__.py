"""The community topology: community → grid → micro-grid → building → unit → household,
the devices installed in those places, and who is responsible for each place.

Layer: pure core. Parses and validates site files, answers "where is this device
and who looks after it"; no network, no clock.
"""
