"""Devices: an owner's voice devices, paired through requests their agent publishes."""
