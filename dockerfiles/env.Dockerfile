# The environment image of one repository's dependency state: its dependencies installed in
# /opt/venv, shared by every task with the same fingerprint. Rendered by dockerfiles/builder.py.
#
# Two stages. The first builds the project into a wheel with its own build backend (isolated,
# unpinned: an old setuptools breaks on a new Python) and lists the wheel's dependencies for the
# chosen extras. The second installs those dependencies, without the project: the final image
# holds no code of the repository at all, not even in a lower layer, so nothing newer than a
# task's base commit can leak into its container. A task's tree is copied in at run time.
# Local path requirements (a plugin, a subpackage) are built in the first stage too, for their
# dependencies; they are installed from the task's tree at run time (TASKFORGE_LOCAL_REQUIREMENTS).
# Pythons uv does not support (3.6, 3.7) use pip throughout, without a date pin.
FROM ${base_image} AS wheel
COPY host-ca.pem /usr/local/share/taskforge/host-ca.pem
ENV SSL_CERT_FILE=/usr/local/share/taskforge/host-ca.pem \
    PIP_CERT=/usr/local/share/taskforge/host-ca.pem \
    UV_SYSTEM_CERTS=1 \
    UV_NO_CACHE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SETUPTOOLS_SCM_PRETEND_VERSION=0.0.0
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG UV_INDEX_URL
ARG UV_EXTRA_INDEX_URL
ARG UV_DEFAULT_INDEX
${system_step}
RUN python3 -m venv /opt/build && /opt/build/bin/python -m pip install --quiet ${wheel_tools}
COPY source/ /tmp/source/
COPY project_requires.py /tmp/project_requires.py
RUN cd /tmp/source \
    && ${wheel_build} /tmp/wheel . \
    && for path in ${local_paths}; do \
         ${wheel_build} /tmp/local-wheels "$$path" \
         || echo "taskforge: local requirement $$path did not build" >&2; \
       done \
    && /opt/build/bin/python /tmp/project_requires.py "${extras_csv}" /tmp/wheel/*.whl \
       /tmp/local-wheels/*.whl > /tmp/project-requirements.txt
# Names this stage's image so the builder can remove it once the final image has what it needs.
ARG TASKFORGE_BUILD
LABEL taskforge.stage=wheel taskforge.build=${TASKFORGE_BUILD}

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
    ${venv_tools}
ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv SETUPTOOLS_SCM_PRETEND_VERSION=0.0.0 \
    TASKFORGE_LOCAL_REQUIREMENTS=${local_requirements}

# The project's dependencies and its test requirements as of their era, then a test runner that
# works on this Python, then the build tools a run-time reinstall of the project needs.
COPY deps/ /tmp/deps/
COPY --from=wheel /tmp/project-requirements.txt /tmp/deps/taskforge-project-requirements.txt
RUN cd /tmp/deps \
    && ${install} ${exclude_newer} -r taskforge-project-requirements.txt ${install_args} \
    && ${install} --quiet ${floor_options} "${pytest_floor}" \
    && (${install} --quiet --upgrade ${build_requires} || true) \
    && rm -rf /tmp/deps \
    && chown -R taskforge:taskforge /opt/venv
${env_step}
USER taskforge
WORKDIR /repo
