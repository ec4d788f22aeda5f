"""Signed webhooks to agency systems: an admin registers a receiver for an agency (service.py); a job turns
domain events into deliveries for the agencies entitled to know of them and sends them, signed, to public
addresses only (delivery.py, addresses.py)."""
