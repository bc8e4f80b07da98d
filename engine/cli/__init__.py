"""The `facebridge` command line (Qt-free; `facebridge gui` imports the GUI lazily)."""
