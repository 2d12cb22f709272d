# The environment image of one repository's dependency state: its dependencies installed in
# /opt/venv, shared by every task with the same fingerprint. Rendered by dockerfiles/builder.py.
# The repository's source is not kept: a task's tree is copied in at run time.
FROM ${base_image}

# The host's CA bundle: an intercepting proxy signs TLS on some networks; pip and uv need it.
COPY host-ca.pem /usr/local/share/taskforge/host-ca.pem
ENV SSL_CERT_FILE=/usr/local/share/taskforge/host-ca.pem \
    PIP_CERT=/usr/local/share/taskforge/host-ca.pem \
    REQUESTS_CA_BUNDLE=/usr/local/share/taskforge/host-ca.pem \
    UV_SYSTEM_CERTS=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_NO_CACHE=1 \
    PYTHONDONTWRITEBYTECODE=1
# Package-index settings of the host, passed as build arguments (not kept in the image's env).
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG UV_INDEX_URL
ARG UV_EXTRA_INDEX_URL
ARG UV_DEFAULT_INDEX

${system_step}
RUN (id -u taskforge >/dev/null 2>&1 || useradd --create-home --uid 1000 --shell /bin/sh taskforge) \
    && mkdir -p /repo && chown taskforge:taskforge /repo \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --quiet uv
ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv SETUPTOOLS_SCM_PRETEND_VERSION=0.0.0

# The project is built into a wheel first, by its own build backend in an isolated, unpinned
# environment (an old setuptools breaks on a new Python; a pinned old `packaging` breaks a new
# setuptools). Then the wheel with its test dependencies as of their era, then a test runner
# that works on this Python, then the build tools a run-time reinstall needs.
COPY source/ /tmp/source/
RUN cd /tmp/source \
    && uv build --quiet --wheel --out-dir /tmp/wheel . \
    && wheel="$$(ls /tmp/wheel/*.whl)" \
    && uv pip install ${exclude_newer} "$${wheel}${extras}" ${install_args} \
    && uv pip install --quiet "${pytest_floor}" \
    && (uv pip install --quiet --upgrade ${build_requires} setuptools wheel || true) \
    && rm -rf /tmp/source /tmp/wheel \
    && chown -R taskforge:taskforge /opt/venv
${env_step}
USER taskforge
WORKDIR /repo
