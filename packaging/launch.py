"""Entry script of the frozen build: the same as the ``spec-review`` command.

It lives here rather than being ``reviewer/__main__.py`` because PyInstaller puts the entry
script's folder on its module search path, and reviewer/ holds ``queue.py`` and ``trace.py``,
which would then stand in for the standard library's modules of those names.
"""

import sys

from cli.main import main

sys.exit(main())
