"""The channels at the host's edge other than Telegram (whose package predates this one)."""
