"""PyInstaller's entry script for the built application (see facebridge.spec)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen program that starts worker processes re-enters here
    from gui.launcher import main

    sys.exit(main())
