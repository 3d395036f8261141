"""`python -m mcp_box_server` is `mcp-box`."""

import sys

from mcp_box_server.cli import main

sys.exit(main())
