"""Allows ``python -m reviewer``, the same as the ``spec-review`` command."""

import sys

from reviewer.cli import main

sys.exit(main())
