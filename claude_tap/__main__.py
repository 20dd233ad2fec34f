"""`python -m claude_tap ...` runs the same CLI as the `claude-tap` script."""

import sys

from claude_tap.cli import main

sys.exit(main())
