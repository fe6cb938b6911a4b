"""A bilingual Telegram assistant for an immigration law firm.

The package is split into a pure core (knowledge, matching, dialogue) that knows nothing about
Telegram, and thin channels (the console chat; the Telegram bot) that drive it.
"""

__version__ = "0.1.0"
