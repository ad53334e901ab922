"""``python -m honed`` (and ``torchrun --nproc_per_node N -m honed train SPEC``): the CLI."""

import sys

from honed.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
