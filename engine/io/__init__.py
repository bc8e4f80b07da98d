"""File formats: images and checkpoints."""
