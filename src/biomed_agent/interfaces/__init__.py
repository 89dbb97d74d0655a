"""Where users meet the agent outside Python code: the MCP server and the terminal chat.

Interfaces sit on top of everything else (interfaces -> agent -> tools/retrievers/models);
nothing below imports them.
"""

MCP_DEFAULT_PORT = 8765
"""Port of ``biomed-agent mcp --transport http`` unless ``--port`` says otherwise."""
