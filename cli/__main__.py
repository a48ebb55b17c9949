"""Allows ``python -m cli``, the same as the ``spec-review`` command."""

import sys

from cli.main import main

sys.exit(main())
