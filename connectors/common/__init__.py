"""Building blocks shared by every channel; nothing here knows about a specific platform."""
