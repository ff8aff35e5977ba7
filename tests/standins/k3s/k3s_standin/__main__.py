import sys

from k3s_standin.cli import main

sys.exit(main())
