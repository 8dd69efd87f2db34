# The service image: slim, non-root, hashed dependencies; nginx on $PORT in front of gunicorn.
# The base image by tag and, once pinned, by digest (PYTHON_DIGEST=@sha256:...): scripts/pin-base-image.sh
# looks up the tag's current digest and writes it here and into cloudbuild.yaml's steps on this image.
ARG PYTHON_DIGEST=
FROM python:3.11-slim-trixie${PYTHON_DIGEST} AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The front that reads whole requests before gunicorn sees them (deploy/serve.sh), from Debian's packages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install --require-hashes --no-deps -r requirements.txt

RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home app

# The code stays root-owned: the service user can read it, not change it.
COPY app.py fb.py tg.py web.py gunicorn.conf.py ./
COPY chatbot ./chatbot
COPY mentor ./mentor
COPY skills.json skills.schema.json ./
COPY static ./static
COPY deploy/serve.sh deploy/nginx.conf.template ./deploy/
# Bytecode is compiled here, once: otherwise every new instance compiles our modules during its cold start.
# skills.json is checked here too, and the check's stamp (skills.json.checked) spares each start the check.
RUN python -m compileall -q /app
RUN python -c "import mentor; from chatbot.engine import loader; loader.load('skills.json', mentor.ACTIONS, mentor.CHECKS)"

USER app
ENV PORT=8080
EXPOSE 8080

# Exec form: serve.sh is PID 1, receives Cloud Run's SIGTERM and stops nginx, then gunicorn.
CMD ["/app/deploy/serve.sh"]
