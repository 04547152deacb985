from __future__ import annotations

import sys

from digest.cli import main

sys.exit(main())
