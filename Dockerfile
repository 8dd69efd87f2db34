# The service image: slim, non-root, hashed dependencies, gunicorn honouring $PORT.
FROM python:3.11-slim-trixie AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

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
# Bytecode is compiled here, once: otherwise every new instance compiles our modules during its cold start.
# skills.json is checked here too, and the check's stamp (skills.json.checked) spares each start the check.
RUN python -m compileall -q /app
RUN python -c "import mentor; from chatbot.engine import skills; skills.load('skills.json', mentor.ACTIONS, mentor.CHECKS)"

USER app
ENV PORT=8080
EXPOSE 8080

# Exec form: gunicorn is PID 1 and receives Cloud Run's SIGTERM itself.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
