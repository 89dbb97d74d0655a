import sys

from biomed_agent.cli import main

sys.exit(main())
