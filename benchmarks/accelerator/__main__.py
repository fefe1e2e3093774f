"""`python -m benchmarks.accelerator`: the suite (`suite.main`)."""

import sys

from benchmarks.accelerator import suite

if __name__ == "__main__":
    sys.exit(suite.main())
