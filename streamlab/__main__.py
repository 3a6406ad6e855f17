"""``python -m streamlab`` is the ``streamlab`` command."""

import sys

from .cli.main import main

sys.exit(main())
