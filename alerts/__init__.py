"""The alert side: rules that find hazards, the alert lifecycle, routing to the
responsible person, escalation and notification.

Layer: ``alerts.rules``, ``alerts.model``, ``alerts.lifecycle``, ``alerts.routing``
and ``alerts.escalation`` are pure core (time is passed in); ``alerts.notify`` and
``alerts.service`` are adapters.
"""
