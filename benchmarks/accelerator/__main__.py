"""`python -m benchmarks.accelerator --out DIR`: the suite (`suite.main`)."""

import sys

from benchmarks.accelerator import suite

sys.exit(suite.main())
