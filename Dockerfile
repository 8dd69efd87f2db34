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
COPY app.py plain.py parts.py cli.py erasure.py privacy.py delivery.py flood.py tally.py stats.py admin.py actions.py catalog.py pace.py steps.py reminders.py outreach.py relay.py fb.py tg.py web.py \
     store.py sqlite_store.py firestore_store.py firestore_support.py chat.py understand.py skills.py skills_check.py \
     settings.py logs.py outbound.py texts.py doctor.py tasks_auth.py readahead.py gunicorn.conf.py ./
COPY skills.json skills.schema.json ./
COPY static ./static
# Bytecode is compiled here, once: otherwise every new instance compiles our modules during its cold start.
# skills.json is checked here too, and the check's stamp (skills.json.checked) spares each start the check.
RUN python -m compileall -q /app
RUN python -c "import actions, skills; skills.load('skills.json', actions.ACTIONS, actions.CHECKS)"

USER app
ENV PORT=8080
EXPOSE 8080

# Exec form: gunicorn is PID 1 and receives Cloud Run's SIGTERM itself.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
