"""Entry script of the PyInstaller binary: the same `openim` command as the installed console script."""

from openim.cli import main

if __name__ == "__main__":
    main()
