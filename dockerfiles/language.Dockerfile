# The environment image of a repository in a language other than Python: its toolchain and its
# dependencies as of the setup commit, under /opt/taskforge, and no code of the repository.
# Rendered by dockerfiles/language_image.py.
#
# Two stages, as Python's: the first gets the whole tree of the setup commit, fetches the
# toolchain (the Go module proxy's or the npm registry's) or installs Debian's, and resolves
# the dependencies with the lockfile the commit has (node_modules, the Go module cache, Cargo's
# registry, Maven's repository), then, where fixes of the tasks change the dependency files,
# resolves each such later state too, in a copy of the tree (``later_step``). The second takes only /opt/taskforge from it: the tree never
# reaches the final image, so nothing newer than a task's base commit can leak into its
# container. A task's tree is copied in at run time and finds the dependencies there.
FROM ${base_image} AS deps
COPY host-ca.pem /usr/local/share/taskforge/host-ca.pem
ENV SSL_CERT_FILE=/usr/local/share/taskforge/host-ca.pem \
    NODE_EXTRA_CA_CERTS=/usr/local/share/taskforge/host-ca.pem \
    npm_config_cafile=/usr/local/share/taskforge/host-ca.pem \
    CARGO_HTTP_CAINFO=/usr/local/share/taskforge/host-ca.pem \
    ${toolchain_env}
ARG GOPROXY
ARG NPM_CONFIG_REGISTRY
${system_step}
COPY fetch_toolchain.py go_as_of.py /tmp/
RUN mkdir -p /opt/taskforge && ${fetch_step}
COPY source/ /tmp/source/
RUN cd /tmp/source && ${deps_step}${later_step}
# Names this stage's image so the builder can remove it once the final image has what it needs.
ARG TASKFORGE_BUILD
LABEL taskforge.stage=wheel taskforge.build=${TASKFORGE_BUILD}

FROM ${base_image}
COPY host-ca.pem /usr/local/share/taskforge/host-ca.pem
ENV SSL_CERT_FILE=/usr/local/share/taskforge/host-ca.pem \
    NODE_EXTRA_CA_CERTS=/usr/local/share/taskforge/host-ca.pem \
    ${toolchain_env}
${system_step}
RUN (id -u taskforge >/dev/null 2>&1 || useradd --create-home --uid 1000 --shell /bin/sh taskforge) \
    && mkdir -p /repo && chown taskforge:taskforge /repo
COPY --from=deps --chown=taskforge:taskforge /opt/taskforge /opt/taskforge
${env_step}
USER taskforge
WORKDIR /repo
