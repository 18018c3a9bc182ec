import sys

from rnnlab.homework import main

sys.exit(main())
