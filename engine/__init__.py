"""FaceBridge engine: P-I2SB face restoration, headless (never imports Qt).

Importing this package has no side effects: no device queries, no model loads.
"""

__version__ = "0.1.0"
