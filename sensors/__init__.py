"""Sensor kinds, the MQTT wire contract and its decoders, and the device registry.

Layer: pure core. Imports no network, no asyncio and no clock; every other
package may import it.
"""
