# mcp-box: serve the bundled boxes over streamable HTTP.
#   docker build -t mcp-box .
#   docker run -p 127.0.0.1:8000:8000 -e MCP_BOX_TOKEN=change-me mcp-box   # this machine only
#   docker run --rm --entrypoint mcp-box mcp-box doctor   # sandbox layers this container gets
# podman and buildah build OCI images by default, and the OCI format has no HEALTHCHECK:
#   podman build --format docker -t mcp-box .   # keeps it (CI builds so: .ci/container.sh)
# or give it at run time (OCI images keep none): podman run --health-interval 30s --health-cmd \
#   'python -c "import urllib.request as u; u.urlopen(\"http://127.0.0.1:8000/health\", timeout=4)"' ...
FROM python:3.11-slim
LABEL io.modelcontextprotocol.server.name="io.github.mcp-box/mcp-box"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY mcp_box_server ./mcp_box_server
COPY boxes ./boxes
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 mcpbox
USER mcpbox
WORKDIR /home/mcpbox

EXPOSE 8000
# Healthy when /health answers 200 "ok"; 503 "starting" or "degraded" (a box that should
# serve does not) fails it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"

# The token comes from $MCP_BOX_TOKEN; without it the server refuses to bind 0.0.0.0.
ENTRYPOINT ["mcp-box", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8000"]
