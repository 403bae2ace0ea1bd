"""``python -m scheduler [FILE|-] [--json]``: solve one problem (see ``scheduler.cli``)."""

import sys

from scheduler.cli import main

sys.exit(main())
