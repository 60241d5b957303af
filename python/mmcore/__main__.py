"""`python -m mmcore`: see `mmcore.cli`."""

import sys

from mmcore.stopping import STOP

# First, before the heavy imports: a stop signal from now on is remembered (the run then stops
# as soon as it starts, and still writes its report), never a KeyboardInterrupt traceback.
STOP.install()

from mmcore.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
