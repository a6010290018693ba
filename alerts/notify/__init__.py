"""Notifications: messages, channels (apprise), delivery with retries and fallback."""
