"""``python -m actors.cli ...`` runs the ``basis`` command line."""

import sys

from actors.cli.main import main

sys.exit(main())
