"""Stop with one clear line when the Python that makes the venv is too old.

Run by the Makefile as `python3 shared/python_version.py` before anything else,
so it must parse on any Python 3 (no f-strings, no new syntax).
"""

import sys

NEEDED = (3, 11)

if sys.version_info < NEEDED:
    sys.exit(
        "This project needs Python %d.%d or newer; %s is Python %s. "
        "Install a newer one, then choose it: make setup PYTHON=python3.12"
        % (NEEDED + (sys.executable, ".".join(map(str, sys.version_info[:3]))))
    )
