"""``python -m slim_ocr``: the ``slim-ocr`` command line (see ``slim_ocr.cli``)."""
import sys

from .cli import main

sys.exit(main())
