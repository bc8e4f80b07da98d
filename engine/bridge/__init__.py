"""The I2SB bridge: schedule, pseudo-hashing endpoints and samplers (pure tensor maths, no network)."""
